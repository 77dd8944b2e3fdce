"""The collector's FHIR resource store: resources by type and logical id, with versions, owners and the
identifier tokens that searches and conditional create/update match on.

The tables (``fhir_resources``, ``fhir_resource_versions``, ``fhir_identifiers``; migration 0007) hold the
current state of what every accepted return said, as a FHIR server would after applying each return's
transaction (``fhir_transaction.py`` writes them). Everything here works on a SQLAlchemy ``Connection``, so
the writes share the submission's database transaction. Bodies are pseudonymised: an NHS number is stored
only as its keyed pseudonym (``pseudonym.py``), so an ``identifier`` search by NHS number is translated to the
pseudonym before it is matched (``FhirSearch.pseudonymised``).

Search follows R4 search.html for the one parameter these resources need, ``identifier`` (a token):
``system|value``, ``|value`` (no system), ``value`` (any system), ``system|`` (any value); commas are OR, a
repeated parameter is AND; ``\\|``, ``\\,``, ``\\$`` and ``\\\\`` are escapes ("Escaping Search Parameters").
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl

from sqlalchemy import Connection, bindparam, func, or_, select

from fhir_family import messages as msg

from ..errors import FhirFamilyError
from ..model import NHS_NUMBER_SYSTEM, PSEUDONYM_SYSTEM
from ..outcome import Issue, IssueSeverity, IssueType
from .pseudonym import Pseudonymiser
from .schema import FhirIdentifier, FhirResource, FhirResourceVersion
from .store_json import compact_json

RESOURCES = FhirResource.__table__
VERSIONS = FhirResourceVersion.__table__
IDENTIFIERS = FhirIdentifier.__table__
MAX_TOKEN = 500
"""The longest identifier system or value the token index keeps (the column width)."""

SEARCH_TYPES = ("Patient", "RelatedPerson", "EpisodeOfCare", "Organization")
"""The resource types of a national return: what the FHIR API reads and searches."""


class SearchError(FhirFamilyError):
    """A search or conditional URL this server cannot evaluate (an unsupported parameter, a bad token):
    HTTP 400, never a silent "no match" that would make a conditional update create a duplicate."""

    http_status = 400
    message_id = msg.COLLECTOR_FHIR_SEARCH


def search_error(message: str, expression: str | None = None) -> SearchError:
    return SearchError(
        message,
        [
            Issue(
                severity=IssueSeverity.ERROR,
                code=IssueType.NOT_SUPPORTED,
                diagnostics=message,
                expression=expression,
                message_id=msg.COLLECTOR_FHIR_SEARCH,
            )
        ],
    )


@dataclass(frozen=True)
class Token:
    """One ``identifier`` token: ``system`` None means any system, "" means no system; ``value`` None means
    any value."""

    system: str | None
    value: str | None


@dataclass(frozen=True)
class StoredResource:
    """The current (or a past) version of a resource and its owner."""

    pk: int
    resource_type: str
    resource_id: str
    version_id: int
    last_updated: datetime
    ods_code: str
    body: str

    @property
    def reference(self) -> str:
        return f"{self.resource_type}/{self.resource_id}"

    def resource(self) -> dict[str, Any]:
        return json.loads(self.body)


# -- search tokens -------------------------------------------------------------------------------------------


def split_unescaped(text: str, separator: str) -> list[str]:
    """``text`` split at each ``separator`` not escaped by a backslash (escapes are kept for ``unescape``)."""
    if "\\" not in text:
        return text.split(separator)
    parts, current, escaped = [], [], False
    for char in text:
        if escaped:
            current.append(char)
            escaped = False
        elif char == "\\":
            current.append(char)
            escaped = True
        elif char == separator:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return parts


def unescape(text: str) -> str:
    r"""Undo search escaping: ``\|`` -> ``|``, ``\,`` -> ``,``, ``\$`` -> ``$``, ``\\`` -> ``\``."""
    if "\\" not in text:
        return text
    out, escaped = [], False
    for char in text:
        if escaped:
            out.append(char)
            escaped = False
        elif char == "\\":
            escaped = True
        else:
            out.append(char)
    return "".join(out)


def parse_token(text: str) -> Token:
    """One token search value (already URL-decoded)."""
    parts = split_unescaped(text, "|")
    if len(parts) > 2:
        raise search_error(f"A token has at most one unescaped '|' (system|value): {text!r}")
    if len(parts) == 1:
        value = unescape(parts[0])
        if not value:
            raise search_error("An empty identifier search value matches nothing useful")
        return Token(None, value)
    system, value = unescape(parts[0]), unescape(parts[1])
    if not system and not value:
        raise search_error("An identifier search needs a system, a value or both")
    return Token(system, value or None)


def parse_identifier_query(
    query: str, ignore: Sequence[str] = (), required: bool = True
) -> list[list[Token]]:
    """The ``identifier`` parameters of a URL query: AND of ORs. Any other parameter (but those in
    ``ignore``, such as ``_count`` on a search) is refused: a conditional operation that ignored a parameter
    could match the wrong resource. ``required``: a conditional operation needs a condition (one without would
    match everything); a search without one lists every resource of the type."""
    conditions: list[list[Token]] = []
    for name, value in parse_qsl(query, keep_blank_values=True, strict_parsing=False):
        if name in ignore:
            continue
        if name != "identifier":
            raise search_error(f"Search parameter {name!r} is not supported; use identifier=system|value")
        conditions.append([parse_token(part) for part in split_unescaped(value, ",")])
    if required and not conditions:
        raise search_error("A condition needs at least one identifier=system|value")
    return conditions


def pseudonymised(conditions: list[list[Token]], pseudonymiser: Pseudonymiser) -> list[list[Token]]:
    """Tokens with an NHS number rewritten as the pseudonym the store holds (no raw number is stored)."""
    return [
        [
            Token(PSEUDONYM_SYSTEM, pseudonymiser.pseudonym(token.value))
            if token.system == NHS_NUMBER_SYSTEM and token.value
            else token
            for token in alternatives
        ]
        for alternatives in conditions
    ]


def _token_matches(resource_type: str, token: Token) -> Any:
    # An IN over the token index (resource_type, value, system), not a correlated EXISTS: SQLite would run
    # an EXISTS once per resource of the type, a scan that grows with every return stored.
    ids = IDENTIFIERS.c
    clauses = [ids.resource_type == resource_type]
    if token.system is not None:
        clauses.append(ids.system == token.system if token.system else ids.system.is_(None))
    if token.value is not None:
        clauses.append(ids.value == token.value)
    return RESOURCES.c.id.in_(select(ids.resource_pk).where(*clauses))


def _where(resource_type: str, conditions: list[list[Token]]) -> list[Any]:
    if not conditions:
        return [RESOURCES.c.resource_type == resource_type]
    # The token rows carry the type, so the resources are reached by primary key from the token index (a
    # type filter here too would make SQLite walk every resource of the type instead).
    return [
        or_(*(_token_matches(resource_type, token) for token in alternatives)) for alternatives in conditions
    ]


# -- reads ---------------------------------------------------------------------------------------------------


def _stored(row: Any) -> StoredResource:
    return StoredResource(
        row.id, row.resource_type, row.resource_id, row.version_id, row.last_updated, row.ods_code, row.body
    )


_COLUMNS = (
    RESOURCES.c.id,
    RESOURCES.c.resource_type,
    RESOURCES.c.resource_id,
    RESOURCES.c.version_id,
    RESOURCES.c.last_updated,
    RESOURCES.c.ods_code,
    RESOURCES.c.body,
)


# The hot path's statements, built once (as in store.py: building a statement and its cache key per call
# cost more than the database's own work). A conditional key is one system|value token.
_FIND_BY_TOKEN = (
    select(*_COLUMNS)
    .where(
        RESOURCES.c.id.in_(
            select(IDENTIFIERS.c.resource_pk).where(
                IDENTIFIERS.c.resource_type == bindparam("type"),
                IDENTIFIERS.c.value == bindparam("value"),
                IDENTIFIERS.c.system == bindparam("system"),
            )
        )
    )
    .order_by(RESOURCES.c.id)
)
_READ = select(*_COLUMNS).where(
    RESOURCES.c.resource_type == bindparam("type"), RESOURCES.c.resource_id == bindparam("id")
)
_INSERT_RESOURCE = RESOURCES.insert()
_INSERT_VERSION = VERSIONS.insert()
_INSERT_TOKENS = IDENTIFIERS.insert()
_UPDATE_RESOURCE = (
    RESOURCES.update()
    .where(RESOURCES.c.id == bindparam("pk"), RESOURCES.c.version_id == bindparam("was"))
    .values(version_id=bindparam("now_version"), last_updated=bindparam("at"), body=bindparam("text"))
)
_DELETE_TOKENS = IDENTIFIERS.delete().where(IDENTIFIERS.c.resource_pk == bindparam("pk"))


def find(
    connection: Connection, resource_type: str, conditions: list[list[Token]], limit: int | None = None
) -> list[StoredResource]:
    """Every resource of ``resource_type`` matching ``conditions`` (at most ``limit``), whoever owns it: the
    conditional operations of a transaction see the whole server, as a generic FHIR server's do."""
    token = conditions[0][0] if len(conditions) == 1 and len(conditions[0]) == 1 else None
    if token is not None and token.system and token.value:
        result = connection.execute(
            _FIND_BY_TOKEN, {"type": resource_type, "system": token.system, "value": token.value}
        )
    else:
        query = select(*_COLUMNS).where(*_where(resource_type, conditions)).order_by(RESOURCES.c.id)
        result = connection.execute(query)
    with result:
        rows = result.fetchmany(limit) if limit is not None else result.fetchall()
    return [_stored(row) for row in rows]


def read(connection: Connection, resource_type: str, resource_id: str) -> StoredResource | None:
    row = connection.execute(_READ, {"type": resource_type, "id": resource_id}).first()
    return None if row is None else _stored(row)


def read_version(
    connection: Connection, resource_type: str, resource_id: str, version_id: int
) -> StoredResource | None:
    """One version of a resource (``vread``), with the resource's owner."""
    row = connection.execute(
        select(
            RESOURCES.c.id,
            RESOURCES.c.resource_type,
            RESOURCES.c.resource_id,
            VERSIONS.c.version_id,
            VERSIONS.c.last_updated,
            RESOURCES.c.ods_code,
            VERSIONS.c.body,
        )
        .join(VERSIONS, VERSIONS.c.resource_pk == RESOURCES.c.id)
        .where(
            RESOURCES.c.resource_type == resource_type,
            RESOURCES.c.resource_id == resource_id,
            VERSIONS.c.version_id == version_id,
        )
    ).first()
    return None if row is None else _stored(row)


def search(
    connection: Connection,
    resource_type: str,
    conditions: list[list[Token]],
    ods_code: str,
    limit: int,
    offset: int,
) -> tuple[list[StoredResource], int]:
    """A provider's own resources matching ``conditions`` (a page of them) and how many match in all."""
    where = [*_where(resource_type, conditions), RESOURCES.c.ods_code == ods_code]
    total = connection.execute(select(func.count()).select_from(RESOURCES).where(*where)).scalar_one()
    rows = connection.execute(
        select(*_COLUMNS).where(*where).order_by(RESOURCES.c.id).limit(limit).offset(offset)
    )
    return [_stored(row) for row in rows], total


def count_by_type(connection: Connection) -> dict[str, int]:
    """How many resources of each type the store holds (the proof counts them)."""
    rows = connection.execute(
        select(RESOURCES.c.resource_type, func.count()).group_by(RESOURCES.c.resource_type)
    )
    return {resource_type: number for resource_type, number in rows}


# -- writes --------------------------------------------------------------------------------------------------


def identifier_tokens(resource: dict[str, Any]) -> list[tuple[str | None, str | None]]:
    """(system, value) of each of the resource's own identifiers, as the token index keeps them."""
    identifiers = resource.get("identifier")
    if isinstance(identifiers, dict):
        identifiers = [identifiers]
    tokens = []
    for identifier in identifiers if isinstance(identifiers, list) else []:
        if not isinstance(identifier, dict):
            continue
        system, value = identifier.get("system"), identifier.get("value")
        system = system if isinstance(system, str) else None
        value = value if isinstance(value, str) else None
        if system is not None or value is not None:
            tokens.append((system, value))
    return tokens


def insert_resource(
    connection: Connection,
    resource_type: str,
    resource_id: str,
    ods_code: str,
    body: dict[str, Any],
    now: datetime,
) -> None:
    """A new resource at version 1: its row, its first version and its identifier tokens."""
    text = compact(body)
    pk = connection.execute(
        _INSERT_RESOURCE,
        {
            "resource_type": resource_type,
            "resource_id": resource_id,
            "version_id": 1,
            "last_updated": now,
            "ods_code": ods_code,
            "body": text,
        },
    ).inserted_primary_key[0]
    version = {"resource_pk": pk, "version_id": 1, "last_updated": now, "body": text}
    connection.execute(_INSERT_VERSION, version)
    _insert_tokens(connection, pk, resource_type, body)


def update_resource(
    connection: Connection, current: StoredResource, body: dict[str, Any], version_id: int, now: datetime
) -> bool:
    """Make ``body`` the resource's version ``version_id``; False when another writer changed the resource
    since ``current`` was read (the caller retries the whole transaction)."""
    text = compact(body)
    changed = connection.execute(
        _UPDATE_RESOURCE,
        {"pk": current.pk, "was": current.version_id, "now_version": version_id, "at": now, "text": text},
    ).rowcount
    if changed != 1:
        return False
    connection.execute(
        _INSERT_VERSION,
        {"resource_pk": current.pk, "version_id": version_id, "last_updated": now, "body": text},
    )
    connection.execute(_DELETE_TOKENS, {"pk": current.pk})
    _insert_tokens(connection, current.pk, current.resource_type, body)
    return True


def _insert_tokens(connection: Connection, pk: int, resource_type: str, body: dict[str, Any]) -> None:
    rows = [
        {"resource_pk": pk, "resource_type": resource_type, "system": system, "value": value}
        for system, value in identifier_tokens(body)
    ]
    if rows:
        connection.execute(_INSERT_TOKENS, rows)


def compact(body: dict[str, Any]) -> str:
    """A resource as stored: compact JSON, keys in the order built."""
    return compact_json(body)

