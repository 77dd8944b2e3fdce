"""Plainly new returns applied to the FHIR store together: one look-up, three multi-row inserts a batch.

``fhir_transaction.apply_transaction`` applies one return's transaction entry by entry: an advisory lock and
an identifier look-up per conditional entry, then a resource row, a version row and the identifier tokens per
created resource, about fourteen statements per return. Most returns of a month are plainly new to the FHIR
store: every conditional update (``PUT Type?identifier=``) matches nothing, and the one conditional create
(the provider's Organization, ``ifNoneExist``) matches the one resource the provider already has or nothing.
For those the outcome is decided by the look-ups alone, so here a whole batch is planned after one look-up of
every key it names (on PostgreSQL: then one statement taking the advisory locks of every key it may write,
in the global order, and the look-up again under them), and written with one multi-row ``INSERT`` per
table.

A return is planned here only when every entry is a conditional create or update on one ``system|value``
token (or a plain ``POST``) and the plan needs no update: no conditional update matches a stored resource or
one an earlier return of the batch creates, no condition matches two resources, no match belongs to another
provider, no identities overlap, and no reference names a missing entry. Anything else (a correction of a
stored patient, a 412, a 403, a 400) is left to ``apply_transaction``, which decides it exactly as before.
Input order is kept: a return left to the one-by-one path after the batch is written makes every key it may
write "taken", and a later return naming a taken key is left to the one-by-one path too, so no batched
return is applied before an earlier return it depends on. The rows written, the ids' form and the answer are
those ``apply_transaction`` writes and gives (``tests/test_collector_fhir_batch.py`` compares the tables).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, insert, select

from ..errors import FhirFamilyError
from . import fhir_store, fhir_transaction
from .fhir_store import IDENTIFIERS, MAX_TOKEN, RESOURCES, VERSIONS
from .fhir_transaction import CREATED, OK, PROCESSING_ORDER, Request

Key = tuple[str, str, str]
"""(resource type, identifier system, identifier value): one conditional key."""

_MATCHES = (
    select(
        IDENTIFIERS.c.resource_type.label("key_type"),
        IDENTIFIERS.c.system.label("key_system"),
        IDENTIFIERS.c.value.label("key_value"),
        RESOURCES.c.id,
        RESOURCES.c.resource_type,
        RESOURCES.c.resource_id,
        RESOURCES.c.version_id,
        RESOURCES.c.last_updated,
        RESOURCES.c.ods_code,
    )
    .join(RESOURCES, RESOURCES.c.id == IDENTIFIERS.c.resource_pk)
    .where(
        IDENTIFIERS.c.resource_type.in_(bindparam("types", expanding=True)),
        IDENTIFIERS.c.value.in_(bindparam("values", expanding=True)),
    )
)
_INSERT_RESOURCES = insert(RESOURCES).returning(RESOURCES.c.id, sort_by_parameter_order=True)
_INSERT_VERSIONS = insert(VERSIONS)
_INSERT_TOKENS = insert(IDENTIFIERS)


@dataclass
class _Target:
    """A resource a condition can match: stored, or created by an earlier return of the batch."""

    reference: str
    ods_code: str
    version_id: int
    last_updated: datetime


@dataclass
class _New:
    resource_type: str
    resource_id: str
    ods_code: str
    text: str
    tokens: list[tuple[str | None, str | None]]


@dataclass
class BatchPlan:
    """The batch's plainly new returns: their answers, and the rows that ``write`` makes them true with."""

    responses: dict[int, dict[str, Any]] = field(default_factory=dict)
    """Index in the batch -> the transaction-response, for each return planned here."""
    created: list[_New] = field(default_factory=list)
    now: datetime | None = None

    def write(self, connection: Connection) -> None:
        """The planned resources, their first versions and their identifier tokens: three statements."""
        if not self.created:
            return
        pks = connection.execute(
            _INSERT_RESOURCES,
            [
                {
                    "resource_type": new.resource_type,
                    "resource_id": new.resource_id,
                    "version_id": 1,
                    "last_updated": self.now,
                    "ods_code": new.ods_code,
                    "body": new.text,
                }
                for new in self.created
            ],
        ).scalars().all()
        connection.execute(
            _INSERT_VERSIONS,
            [
                {"resource_pk": pk, "version_id": 1, "last_updated": self.now, "body": new.text}
                for pk, new in zip(pks, self.created, strict=True)
            ],
        )
        tokens = [
            {"resource_pk": pk, "resource_type": new.resource_type, "system": system, "value": value}
            for pk, new in zip(pks, self.created, strict=True)
            for system, value in new.tokens
        ]
        if tokens:
            connection.execute(_INSERT_TOKENS, tokens)


def _requests(bundle: Any) -> list[Request] | None:
    try:
        return fhir_transaction.parse_requests(bundle)
    except FhirFamilyError:
        return None


def _key(request: Request) -> Key | None:
    """The one ``system|value`` token a conditional entry names, or None (not a single plain token)."""
    conditions = request.conditions
    if conditions is None or len(conditions) != 1 or len(conditions[0]) != 1:
        return None
    token = conditions[0][0]
    if not token.system or not token.value:
        return None
    return request.resource_type, token.system, token.value


def _simple(requests: list[Request]) -> bool:
    """Every entry a plain POST or a conditional one on a single token (no ``PUT Type/id``)."""
    return all(
        request.resource_id is None and (request.conditions is None or _key(request) is not None)
        for request in requests
    )


def _stored_matches(connection: Connection, keys: set[Key]) -> dict[Key, dict[int, _Target]]:
    """Every stored resource each key matches (whoever owns it), in one statement."""
    found: dict[Key, dict[int, _Target]] = {}
    if not keys:
        return found
    rows = connection.execute(
        _MATCHES,
        {"types": sorted({key[0] for key in keys}), "values": sorted({key[2] for key in keys})},
    )
    for row in rows:
        key = (row.key_type, row.key_system, row.key_value)
        if key in keys:
            found.setdefault(key, {})[row.id] = _Target(
                f"{row.resource_type}/{row.resource_id}", row.ods_code, row.version_id, row.last_updated
            )
    return found


def plan_batch(connection: Connection, returns: list[tuple[Any, str, bool]]) -> BatchPlan:
    """Plan the returns ``(stored bundle, provider ODS code, eligible)`` of a batch, in input order: those
    eligible and plainly new get an answer in the plan; every other one is left to the one-by-one path
    (``apply_transaction`` after ``BatchPlan.write``), and makes the keys it may write taken for later ones.
    On PostgreSQL the advisory locks of every key that may be written are taken (as ``apply_transaction``
    takes them) and the keys read again, so no concurrent transaction can create a matching resource
    before this one commits."""
    parsed = [_requests(bundle) for bundle, _ods, _eligible in returns]
    keys: set[Key] = set()
    lock_keys: set[str] = set()
    for requests in parsed:
        for request in requests or []:
            key = _key(request)
            if key is not None:
                keys.add(key)
            lock_keys.add(request.lock_key)
    stored = _stored_matches(connection, keys)
    if connection.dialect.name == "postgresql":
        # Lock what may be written, then read it again under the locks. A conditional create whose key
        # already matches one resource writes nothing and stays so (nothing is ever deleted): it is not
        # locked, or every return of a provider would queue on its Organization's key until commit.
        settled = {
            request.lock_key
            for requests in parsed
            for request in requests or []
            if request.method == "POST" and len(stored.get(_key(request) or ("", "", ""), {})) == 1
        }
        wanted = {fhir_transaction.lock_number(k) for k in lock_keys - settled if k}
        if wanted:
            fhir_transaction.lock_numbers(connection, wanted)
            stored = _stored_matches(connection, keys)
    plan = BatchPlan(now=fhir_transaction.current_time())
    made: dict[Key, list[_Target]] = {}
    taken: set[Key] = set()
    for index, ((_bundle, ods_code, eligible), requests) in enumerate(zip(returns, parsed, strict=True)):
        planned = None
        if eligible and requests is not None and _simple(requests):
            planned = _plan_one(requests, ods_code, plan.now, stored, made, taken)
        if planned is None:
            _take(requests or [], stored, made, taken)
            continue
        response, created = planned
        plan.responses[index] = response
        plan.created.extend(created)
        for new in created:
            target = _Target(f"{new.resource_type}/{new.resource_id}", new.ods_code, 1, plan.now)
            for system, value in new.tokens:
                if system and value:
                    made.setdefault((new.resource_type, system, value), []).append(target)
    return plan


def _take(
    requests: list[Request], stored: dict[Key, dict[int, _Target]], made: dict[Key, list[_Target]],
    taken: set[Key],
) -> None:
    """A return left to the one-by-one path may write each key it names (and any token of the bodies it
    writes): later returns naming one must wait for it. A conditional create whose key already matches
    exactly one resource writes nothing, so it takes nothing."""
    for request in requests:
        key = _key(request)
        matches = 0 if key is None else len(stored.get(key, {})) + len(made.get(key, []))
        if request.method == "POST" and key is not None and matches == 1:
            continue
        if key is not None:
            taken.add(key)
        for system, value in fhir_store.identifier_tokens(request.resource):
            if system and value:
                taken.add((request.resource_type, system, value))


def _plan_one(
    requests: list[Request],
    ods_code: str,
    now: datetime,
    stored: dict[Key, dict[int, _Target]],
    made: dict[Key, list[_Target]],
    taken: set[Key],
) -> tuple[dict[str, Any], list[_New]] | None:
    """One return's answer and the resources it creates, or None when only ``apply_transaction`` may decide
    it (an update, a 412, a 403, a 400, or a key an earlier return left to that path may write)."""
    targets: dict[int, tuple[str, _Target | None]] = {}  # request index -> (reference, matched target)
    identities: set[str] = set()
    lock_keys: set[str] = set()
    for request in sorted(requests, key=lambda r: PROCESSING_ORDER[r.method]):
        key = _key(request)
        if key is not None and key in taken:
            return None
        matches = [] if key is None else [*stored.get(key, {}).values(), *made.get(key, [])]
        if len(matches) > 1:
            return None  # 412: apply_transaction words it
        if matches:
            match = matches[0]
            if request.method != "POST" or match.ods_code != ods_code:
                return None  # an update, or another provider's resource (403)
            reference, target = match.reference, match
        else:
            reference, target = f"{request.resource_type}/{fhir_transaction.new_id()}", None
        # http.html#trules: overlapping identities fail the transaction (apply_transaction says so: 400)
        if reference in identities or (request.lock_key and request.lock_key in lock_keys):
            return None
        identities.add(reference)
        lock_keys.add(request.lock_key)
        targets[request.index] = (reference, target)
    references = {
        request.full_url: targets[request.index][0] for request in requests if request.full_url is not None
    }
    responses: dict[int, dict[str, Any]] = {}
    created: list[_New] = []
    for request in sorted(requests, key=lambda r: PROCESSING_ORDER[r.method]):
        reference, target = targets[request.index]
        if target is not None:
            responses[request.index] = fhir_transaction.entry_response(
                OK, reference, target.version_id, target.last_updated
            )
            continue
        try:
            body = fhir_transaction.rewrite_references(request.resource, references, request.index)
        except FhirFamilyError:
            return None
        tokens = fhir_store.identifier_tokens(body)
        if any(len(system or "") > MAX_TOKEN or len(value or "") > MAX_TOKEN for system, value in tokens):
            return None
        if any((request.resource_type, system, value) in taken for system, value in tokens):
            return None  # an earlier return left to the one-by-one path would match this resource
        resource_id = reference.split("/", 1)[1]
        stored_body = fhir_transaction.with_meta(body, resource_id, 1, now)
        created.append(
            _New(request.resource_type, resource_id, ods_code, fhir_store.compact(stored_body), tokens)
        )
        responses[request.index] = fhir_transaction.entry_response(CREATED, reference, 1, now)
    response = fhir_transaction.transaction_response_bundle([responses[r.index] for r in requests])
    return response, created


def apply_one(connection: Connection, stored_bundle: Any, ods_code: str) -> dict[str, Any]:
    """One return's transaction (``POST`` ingest): the batched plan when it is plainly new (a handful of
    statements), else ``apply_transaction``."""
    plan = plan_batch(connection, [(stored_bundle, ods_code, True)])
    if 0 in plan.responses:
        plan.write(connection)
        return plan.responses[0]
    return fhir_transaction.apply_transaction(connection, stored_bundle, ods_code)

