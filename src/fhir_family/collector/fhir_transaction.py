"""FHIR R4 transaction processing for the collector's FHIR API, as the specification states it.

A national return is a transaction Bundle (https://hl7.org/fhir/R4/http.html#transaction): an
Organization ``POST`` with ``ifNoneExist`` on its ODS code, then a conditional ``PUT`` of the Patient, the
EpisodeOfCare and each RelatedPerson keyed on its provider-scoped business identifier (guide.md 0.7). This
module applies such a Bundle to the FHIR resource store (``fhir_store.py``) exactly as a FHIR server must, so
the collector proves on its own tables that the design loads the same return twice without a change and never
lets two providers overwrite each other. The rules, each cited where it is applied below:

* http.html#trules "Transaction Processing Rules": entries are processed DELETE, then POST, then PUT/PATCH,
  then GET/HEAD; if resource identities (conditional ones resolved) overlap, the transaction fails; a
  ``urn:uuid`` fullUrl gets the id the server assigns and every reference to it is rewritten; the
  transaction succeeds or fails as a whole (the caller's database transaction: nothing is written on error).
* http.html#ccreate conditional create (``ifNoneExist``): no match creates, one match is ignored (``200 OK``),
  more than one is ``412 Precondition Failed``.
* http.html#cond-update conditional update: no match creates, one match updates that resource, more than one
  is ``412 Precondition Failed``.
* http.html#update update by id: the body's id must equal the URL's, and an absent resource is created
  ("update as create").

Decisions the specification leaves to the server, made here and documented in the collector README:

* **An update whose content equals the current version makes no new version** (versionId and lastUpdated are
  kept; the answer is ``200 OK`` with the current version's etag). So loading the same return twice changes
  nothing at all, not even version numbers.
* **Conditional matches see the whole server**, as on a generic FHIR server (so a key that collided across
  providers would show here too), but **a provider may not change a resource another provider created**: such
  a match fails the transaction with 403 rather than overwrite.
* Only ``POST`` and ``PUT`` entries, of the four resource types a national return holds, are processed; any
  other method or type fails the transaction (400) rather than be skipped.

Concurrency: on PostgreSQL each conditional key and each ``Type/id`` is taken as a transaction-scoped advisory
lock (in one global order, so two transactions cannot deadlock on them) before it is searched, so two
concurrent returns for one patient cannot both see "no match" and create two Patients. SQLite's
``BEGIN IMMEDIATE`` already serialises writers.
"""

from __future__ import annotations

import copy
import hashlib
import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, text

from fhir_family import messages as msg

from ..errors import FhirFamilyError
from ..outcome import Issue, IssueSeverity, IssueType
from . import fhir_store
from .fhir_store import MAX_TOKEN, SEARCH_TYPES, StoredResource, Token

# http.html#trules: "1. Process any DELETE interactions, 2. Process any POST interactions, 3. Process any
# PUT or PATCH interactions, 4. Process any GET or HEAD interactions".
PROCESSING_ORDER = {"DELETE": 0, "POST": 1, "PUT": 2, "PATCH": 2, "GET": 3, "HEAD": 3}
SUPPORTED_METHODS = ("POST", "PUT")
_ID = re.compile(r"[A-Za-z0-9\-.]{1,64}")  # datatypes.html#id

CREATED, OK = "201 Created", "200 OK"


class TransactionError(FhirFamilyError):
    """A transaction this server refuses as the specification says it must, or cannot process: HTTP 400;
    nothing of it was written."""

    http_status = 400
    message_id = msg.COLLECTOR_FHIR_TRANSACTION


class PreconditionFailedError(FhirFamilyError):
    """A conditional create or update matched more than one resource: HTTP 412 (http.html#ccreate,
    #cond-update); nothing of the transaction was written."""

    http_status = 412
    message_id = msg.COLLECTOR_FHIR_PRECONDITION


class ForeignResourceError(FhirFamilyError):
    """An entry would change a resource another provider created: HTTP 403; nothing was written."""

    http_status = 403
    message_id = msg.COLLECTOR_FHIR_OWNER


class ConcurrentWriteError(FhirFamilyError):
    """Another writer changed a resource this transaction was updating: HTTP 503, nothing was written, the
    same request may be resent."""

    http_status = 503
    message_id = msg.COLLECTOR_STORAGE


def _issue(code: IssueType, message: str, expression: str | None, message_id: str) -> list[Issue]:
    return [
        Issue(
            severity=IssueSeverity.ERROR,
            code=code,
            diagnostics=message,
            expression=expression,
            message_id=message_id,
        )
    ]


def _refuse(message: str, index: int | None, where: str = "request", code: IssueType = IssueType.INVALID):
    expression = "Bundle" if index is None else f"Bundle.entry[{index}].{where}"
    return TransactionError(message, _issue(code, message, expression, msg.COLLECTOR_FHIR_TRANSACTION))


# -- the entries -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Request:
    """One entry's request, parsed: the resource it writes and how its target is found."""

    index: int
    method: str
    resource_type: str
    resource: dict[str, Any]
    full_url: str | None
    resource_id: str | None = None
    """``PUT Type/id``: the id the client names."""
    conditions: list[list[Token]] | None = None
    """Conditional create (``ifNoneExist``) or conditional update (``PUT Type?query``)."""

    @property
    def lock_key(self) -> str:
        if self.resource_id is not None:
            return f"{self.resource_type}/{self.resource_id}"
        if self.conditions is not None:
            return f"{self.resource_type}?{sorted(sorted(map(repr, alt)) for alt in self.conditions)}"
        return ""


def parse_requests(bundle: Any) -> list[Request]:
    """Every entry's request, in the Bundle's order; anything this server cannot process is a 400."""
    if not isinstance(bundle, dict) or bundle.get("resourceType") != "Bundle":
        raise _refuse("A transaction is a Bundle resource", None)
    if bundle.get("type") != "transaction":
        raise _refuse(f"Bundle.type must be 'transaction' (found {bundle.get('type')!r})", None)
    entries = bundle.get("entry") or []
    if not isinstance(entries, list):
        raise _refuse("Bundle.entry must be a list", None)
    return [_parse_entry(entry, index) for index, entry in enumerate(entries)]


def _parse_entry(entry: Any, index: int) -> Request:
    request = entry.get("request") if isinstance(entry, dict) else None
    if not isinstance(request, dict):
        raise _refuse("Every entry of a transaction needs a request", index, "request")
    method, url = request.get("method"), request.get("url")
    if method not in PROCESSING_ORDER:
        raise _refuse(f"Unknown request method {method!r}", index, "request.method")
    if method not in SUPPORTED_METHODS:
        raise _refuse(
            f"This server processes POST and PUT entries only (a national return has no {method})",
            index,
            "request.method",
            IssueType.NOT_SUPPORTED,
        )
    if not isinstance(url, str) or not url:
        raise _refuse("request.url is required", index, "request.url")
    resource = entry.get("resource")
    if not isinstance(resource, dict):
        raise _refuse(f"A {method} entry needs a resource", index, "resource")
    path, _, query = url.lstrip("/").partition("?")
    resource_type, _, resource_id = path.partition("/")
    if resource_type not in SEARCH_TYPES:
        raise _refuse(
            f"This server stores {', '.join(SEARCH_TYPES)} only, not {resource_type!r}",
            index,
            "request.url",
            IssueType.NOT_SUPPORTED,
        )
    if resource.get("resourceType") != resource_type:
        raise _refuse(
            f"request.url names {resource_type} but the resource is a {resource.get('resourceType')!r}",
            index,
        )
    full_url = entry.get("fullUrl") if isinstance(entry.get("fullUrl"), str) else None
    expression = f"Bundle.entry[{index}].request"
    if method == "POST":
        if resource_id or query:
            raise _refuse("A POST url is the resource type only (http.html#create)", index, "request.url")
        if_none_exist = request.get("ifNoneExist")
        if if_none_exist is None:
            return Request(index, method, resource_type, resource, full_url)
        if not isinstance(if_none_exist, str):
            raise _refuse("request.ifNoneExist must be a string", index, "request.ifNoneExist")
        conditions = _conditions(if_none_exist.split("?", 1)[-1], f"{expression}.ifNoneExist")
        return Request(index, method, resource_type, resource, full_url, conditions=conditions)
    if query:
        if resource_id:
            raise _refuse("A conditional update url is Type?query, without an id", index, "request.url")
        conditions = _conditions(query, f"{expression}.url")
        return Request(index, method, resource_type, resource, full_url, conditions=conditions)
    if not _ID.fullmatch(resource_id):
        raise _refuse(f"PUT needs Type/id or Type?query, found {url!r}", index, "request.url")
    # http.html#update: "the request body SHALL be a Resource with an id element that has an identical
    # value to the [id] in the URL. If no id element is provided, or the id disagrees with the id in the URL,
    # the server SHALL respond with an HTTP 400 Bad Request error code".
    if resource.get("id") != resource_id:
        raise _refuse(
            f"The resource's id {resource.get('id')!r} must equal the id in the url ({resource_id!r})",
            index,
            "resource.id",
        )
    return Request(index, method, resource_type, resource, full_url, resource_id=resource_id)


def _conditions(query: str, expression: str) -> list[list[Token]]:
    try:
        conditions = fhir_store.parse_identifier_query(query)
    except fhir_store.SearchError as exc:
        raise fhir_store.search_error(str(exc), expression) from exc
    for alternatives in conditions:
        for token in alternatives:
            if len(token.system or "") > MAX_TOKEN or len(token.value or "") > MAX_TOKEN:
                raise fhir_store.search_error(f"An identifier longer than {MAX_TOKEN} characters", expression)
    return conditions


# -- resolving targets -------------------------------------------------------------------------------------


@dataclass
class Step:
    """What one entry does: create a new resource, update ``target``, or nothing (``target`` answers)."""

    request: Request
    action: str
    """``create``, ``update`` or ``none``."""
    resource_id: str
    target: StoredResource | None = None

    @property
    def reference(self) -> str:
        return f"{self.request.resource_type}/{self.resource_id}"


def plan(connection: Connection, requests: list[Request], ods_code: str) -> list[Step]:
    """Each entry's target, found in the processing order (http.html#trules). Raises 412 for an ambiguous
    condition, 403 for another provider's resource, 400 for overlapping identities."""
    steps: list[Step] = []
    identities: dict[str, int] = {}
    keys: dict[str, int] = {}
    for request in sorted(requests, key=lambda r: PROCESSING_ORDER[r.method]):
        step = _resolve(connection, request)
        if step.target is not None and step.target.ods_code != ods_code:
            message = (
                f"{request.method} {step.reference} would change a resource another provider created; "
                "a provider's business identifiers are its own (guide.md 0.7)"
            )
            raise ForeignResourceError(
                message,
                _issue(IssueType.FORBIDDEN, message, f"Bundle.entry[{request.index}].request",
                       msg.COLLECTOR_FHIR_OWNER),
            )
        # http.html#trules: "If any resource identities (including resolved identities from conditional
        # update/delete) overlap in steps 1-3, then the transaction SHALL fail."
        for seen, key in ((identities, step.reference), (keys, request.lock_key)):
            if key and key in seen:
                raise _refuse(
                    f"Entries {seen[key]} and {request.index} both write {key}: identities overlap",
                    request.index,
                    code=IssueType.BUSINESS_RULE,
                )
            if key:
                seen[key] = request.index
        steps.append(step)
    return steps


def _resolve(connection: Connection, request: Request) -> Step:
    if request.resource_id is not None:  # PUT Type/id: update, or create with that id (update as create)
        current = fhir_store.read(connection, request.resource_type, request.resource_id)
        return Step(request, "create" if current is None else "update", request.resource_id, current)
    if request.conditions is None:  # plain POST: the server assigns the id (http.html#create)
        return Step(request, "create", new_id())
    matches = fhir_store.find(connection, request.resource_type, request.conditions, limit=2)
    if len(matches) > 1:
        # http.html#ccreate "Multiple matches: The server returns a 412 Precondition Failed error";
        # http.html#cond-update "Multiple matches: The server returns a 412 Precondition Failed error".
        where = "ifNoneExist" if request.method == "POST" else "url"
        message = (
            f"The conditional {'create' if request.method == 'POST' else 'update'} of entry {request.index} "
            f"matches more than one {request.resource_type}: 412 Precondition Failed"
        )
        raise PreconditionFailedError(
            message,
            _issue(IssueType.DUPLICATE, message, f"Bundle.entry[{request.index}].request.{where}",
                   msg.COLLECTOR_FHIR_PRECONDITION),
        )
    if not matches:  # ccreate / cond-update "No matches": create, with a server-assigned id
        return Step(request, "create", new_id())
    match = matches[0]
    if request.method == "POST":  # ccreate "One Match: the server ignores the post and returns 200 OK"
        return Step(request, "none", match.resource_id, match)
    given = request.resource.get("id")
    if given is not None and given != match.resource_id:
        raise _refuse(
            f"The resource's id {given!r} is not the id of the resource the condition matches",
            request.index,
            "resource.id",
        )
    return Step(request, "update", match.resource_id, match)  # cond-update "One Match": update it


def new_id() -> str:
    """A server-assigned logical id (http.html#create)."""
    return str(uuid.uuid4())


def current_time() -> datetime:
    """The server's time for ``meta.lastUpdated`` (one function, so tests can fix it)."""
    return datetime.now(UTC)


# -- references ----------------------------------------------------------------------------------------------


def rewrite_references(node: Any, references: dict[str, str], index: int) -> Any:
    """``node`` with every reference to an entry's fullUrl replaced by the id the server gave that entry
    (http.html#trules: "the server SHALL ... update all references to the fullUrl"). A ``urn:`` reference
    that names no entry can never resolve: the transaction fails rather than store it."""
    if isinstance(node, dict):  # copy on write: a part holding no such reference is returned itself
        result = None
        for key, value in node.items():
            if key == "reference" and isinstance(value, str):
                if value in references:
                    new = references[value]
                elif value.startswith(("urn:uuid:", "urn:oid:")):
                    raise _refuse(f"Reference {value!r} names no entry of the Bundle", index, "resource")
                else:
                    continue
            elif isinstance(value, (dict, list)):
                new = rewrite_references(value, references, index)
            else:
                continue
            if new is not value:
                result = result if result is not None else dict(node)
                result[key] = new
        return node if result is None else result
    if isinstance(node, list):
        items = [rewrite_references(item, references, index) for item in node]
        return node if all(new is old for new, old in zip(items, node, strict=True)) else items
    return node


# -- applying ------------------------------------------------------------------------------------------------


def apply_transaction(connection: Connection, bundle: Any, ods_code: str) -> dict[str, Any]:
    """Apply a transaction Bundle on ``connection`` for provider ``ods_code``; the transaction-response.

    Runs inside the caller's database transaction: on any error nothing is written (the caller rolls back).
    """
    requests = parse_requests(bundle)
    _lock(connection, [request.lock_key for request in requests])
    steps = plan(connection, requests, ods_code)
    references = {
        step.request.full_url: step.reference for step in steps if step.request.full_url is not None
    }
    now = current_time()
    responses: dict[int, dict[str, Any]] = {}
    for step in steps:  # in the processing order
        request = step.request
        if step.action == "none":
            assert step.target is not None
            responses[request.index] = entry_response(OK, step.target.reference, step.target.version_id,
                                                 step.target.last_updated)
            continue
        body = rewrite_references(request.resource, references, request.index)
        for system, value in fhir_store.identifier_tokens(body):
            if len(system or "") > MAX_TOKEN or len(value or "") > MAX_TOKEN:
                raise _refuse(f"An identifier longer than {MAX_TOKEN} characters", request.index, "resource")
        if step.action == "create":
            stored = with_meta(body, step.resource_id, 1, now)
            fhir_store.insert_resource(connection, request.resource_type, step.resource_id, ods_code, stored,
                                       now)
            responses[request.index] = entry_response(CREATED, step.reference, 1, now)
            continue
        current = step.target
        assert current is not None
        if _content(body) == _content(current.resource()):
            # Decision: an unchanged update keeps the current version (see the module docstring).
            responses[request.index] = entry_response(OK, step.reference, current.version_id,
                                                 current.last_updated)
            continue
        version = current.version_id + 1
        stored = with_meta(body, step.resource_id, version, now)
        if not fhir_store.update_resource(connection, current, stored, version, now):
            raise ConcurrentWriteError(f"{step.reference} changed while this transaction updated it; resend")
        responses[request.index] = entry_response(OK, step.reference, version, now)
    return transaction_response_bundle([responses[request.index] for request in requests])


def describe_transaction(connection: Connection, bundle: Any) -> dict[str, Any]:
    """The transaction-response for a Bundle the collector keeps without applying (a resend, or a return
    already superseded on arrival): each entry answered ``200 OK`` with what the server holds now."""
    entries = []
    for request in parse_requests(bundle):
        target = _current_target(connection, request)
        if target is None:  # nothing, or no single resource, answers to this entry now
            entries.append({"response": {"status": OK}})
        else:
            entries.append(entry_response(OK, target.reference, target.version_id, target.last_updated))
    return transaction_response_bundle(entries)


def _current_target(connection: Connection, request: Request) -> StoredResource | None:
    """The one resource an entry names now, read-only: a stored return's resend must stay a no-op even if
    the store has since come to hold two matches (that is for the next write to refuse with 412)."""
    if request.resource_id is not None:
        return fhir_store.read(connection, request.resource_type, request.resource_id)
    if request.conditions is None:
        return None
    matches = fhir_store.find(connection, request.resource_type, request.conditions, limit=2)
    return matches[0] if len(matches) == 1 else None


def _lock(connection: Connection, keys: list[str]) -> None:
    """Serialise concurrent transactions that search the same conditional key or write the same id."""
    if connection.dialect.name != "postgresql":
        return  # SQLite: BEGIN IMMEDIATE already holds the only write lock
    lock_numbers(connection, {lock_number(key) for key in keys if key})


# The locks in ascending order (the one global order), in one round trip however many there are.
_LOCK_MANY = text(
    "SELECT pg_advisory_xact_lock(k) FROM (SELECT unnest(CAST(:keys AS BIGINT[])) AS k ORDER BY k) AS ordered"
)


def lock_numbers(connection: Connection, numbers: set[int]) -> None:
    """Take the transaction-scoped advisory locks ``numbers`` on PostgreSQL, lowest first."""
    if numbers and connection.dialect.name == "postgresql":
        connection.execute(_LOCK_MANY, {"keys": sorted(numbers)}).all()


def lock_number(key: str) -> int:
    return int.from_bytes(hashlib.sha256(f"fhir-store|{key}".encode()).digest()[:8], "big", signed=True)


def with_meta(resource: dict[str, Any], resource_id: str, version: int, now: datetime) -> dict[str, Any]:
    """The resource as stored: ``id`` set, ``meta.versionId`` and ``meta.lastUpdated`` the server's."""
    meta = dict(resource.get("meta") or {})
    meta.update({"versionId": str(version), "lastUpdated": instant(now)})
    rest = {key: value for key, value in resource.items() if key not in ("resourceType", "id", "meta")}
    return {"resourceType": resource["resourceType"], "id": resource_id, "meta": meta, **rest}


def _content(resource: dict[str, Any]) -> dict[str, Any]:
    """What an update compares: everything but ``id`` and the server's ``meta.versionId``/``lastUpdated``."""
    content = copy.deepcopy(resource)
    content.pop("id", None)
    meta = content.get("meta")
    if isinstance(meta, dict):
        meta.pop("versionId", None)
        meta.pop("lastUpdated", None)
        if not meta:
            content.pop("meta")
    return content


def instant(moment: datetime) -> str:
    """A FHIR instant in UTC with milliseconds; a naive datetime (SQLite gives them back) is UTC."""
    moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def entry_response(status: str, reference: str, version: int, last_modified: datetime) -> dict[str, Any]:
    return {
        "response": {
            "status": status,
            "location": f"{reference}/_history/{version}",
            "etag": f'W/"{version}"',
            "lastModified": instant(last_modified),
        }
    }


def transaction_response_bundle(entries: list[dict[str, Any]]) -> dict[str, Any]:
    # bundle.html: a transaction-response has one entry per request entry, in the same order.
    return {"resourceType": "Bundle", "type": "transaction-response", "entry": entries}


def apply_return(connection: Connection, stored_bundle: Any, ods_code: str, current: bool) -> dict[str, Any]:
    """The collector's hook (``store.py``): apply a newly stored return's transaction, in the same database
    transaction as its facts, when it is the current return; a return stored as history on arrival (a later
    return for the same patient and period is already current) is only described, so an older return never
    overwrites newer data."""
    if current:
        return apply_transaction(connection, stored_bundle, ods_code)
    return describe_transaction(connection, stored_bundle)
