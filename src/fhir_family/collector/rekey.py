"""Re-keying: move every pseudonym of a collector database from its key to a new one, in one transaction.

Pseudonyms are one-way and the numbers are not stored, so each pseudonym ``p`` made under the old key
becomes ``HMAC(new, p)`` (``pseudonym.chain_step``), and the old key joins the chain of earlier keys kept
wrapped under the new one (``keychain.py``): a number received later goes through the whole chain and links
to what is stored, so resends stay no-ops and corrections still supersede. Rewritten: the patient and child
pseudonym columns, every pseudonym inside the stored bundles and resources (identifiers, conditional request
URLs, numbers pseudonymised inside other strings) and submission ids, the FHIR store's resources, every
version of them and their identifier tokens (``fhir_store.py``), the content hashes, the key fingerprint and
the wrapped chain. Run it with every collector process stopped: one still running with the old key would
store pseudonyms the new chain does not make.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from typing import Any

from sqlalchemy import Connection, Engine, bindparam, func, select, update
from sqlalchemy.orm import Session

from .keychain import earlier_keys, hmac_key, store_earlier_keys
from .keys import FINGERPRINT_SETTING, fingerprint
from .pseudonym import chain_step
from .schema import (
    ChildFact,
    CollectorSetting,
    FhirIdentifier,
    FhirResource,
    FhirResourceVersion,
    StoredResource,
    Submission,
)
from .settings import ConfigurationError

BATCH = 1000
_S = Submission.__table__
_C = ChildFact.__table__
_R = StoredResource.__table__
_F = FhirResource.__table__
_FV = FhirResourceVersion.__table__
_FI = FhirIdentifier.__table__

Progress = Callable[[str, int, int], None]


def rekey(engine: Engine, old_key: bytes, new_key: bytes, progress: Progress | None = None) -> dict[str, int]:
    """Move the database from ``old_key`` to ``new_key``; how many rows of each table were rewritten.

    ConfigurationError (nothing changed) when ``old_key`` is not the key the database's fingerprint names, or
    the new key is the old one."""
    report = progress or (lambda _table, _done, _total: None)
    if fingerprint(new_key) == fingerprint(old_key):
        raise ConfigurationError("The new pseudonymisation key is the old one: nothing to re-key")
    with engine.begin() as connection:
        session = Session(bind=connection)
        stored = session.get(CollectorSetting, FINGERPRINT_SETTING)
        if stored is None:
            raise ConfigurationError("This database records no key fingerprint: it was never started")
        if stored.value != fingerprint(old_key):
            raise ConfigurationError(
                "The old key does not match this database's key fingerprint (old key "
                f"{fingerprint(old_key)[:12]}..., database {stored.value[:12]}...): nothing was changed"
            )
        chain = [*earlier_keys(session, old_key), hmac_key(old_key)]

        def move(pseudonym: str) -> str:
            return chain_step(new_key, pseudonym)

        counts = {
            "submissions": _rekey_submissions(connection, move, report),
            "child_facts": _rekey_children(connection, move, report),
            "resources": _rekey_resources(connection, move, report),
            "fhir_resources": _rekey_fhir_store(connection, move, report),
            "fhir_identifiers": _rekey_fhir_identifiers(connection, move, report),
        }
        stored.value = fingerprint(new_key)
        store_earlier_keys(session, new_key, chain)
        session.flush()
    return counts


_PSEUDONYM = re.compile(r"(?<![0-9a-f])[0-9a-f]{64}(?![0-9a-f])")


def rewrite_text(text: str, move: Callable[[str], str]) -> str:
    """``text`` with every pseudonym in it moved, wherever it stands: an identifier's value, a conditional
    request URL, or a valid NHS number pseudonymised inside another string (``pseudonymise_text``: an episode
    identifier, a submission id, free text). A pseudonym is 64 lower-case hex digits; a provider's own 64-hex
    string in free text would be moved too (a resend of exactly that return would then be a 409)."""
    return _PSEUDONYM.sub(lambda match: move(match.group(0)), text)


def _batches(connection: Connection, table: Any, columns: list[Any]):  # type: ignore[no-untyped-def]
    """Rows of ``table`` in primary-key order, ``BATCH`` at a time (keyset, so memory stays flat)."""
    last = 0
    while True:
        rows = connection.execute(
            select(table.c.id, *columns).where(table.c.id > last).order_by(table.c.id).limit(BATCH)
        ).all()
        if not rows:
            return
        yield rows
        last = rows[-1].id


def _rekey_submissions(connection: Connection, move: Callable[[str], str], report: Progress) -> int:
    total = connection.execute(select(func.count()).select_from(_S)).scalar_one()
    statement = (
        update(_S)
        .where(_S.c.id == bindparam("pk"))
        .values(
            submission_id=bindparam("sid"),
            superseded_by=bindparam("by"),
            patient_pseudonym=bindparam("patient"),
            bundle_json=bindparam("json"),
            content_hash=bindparam("hash"),
        )
    )
    done = 0
    columns = [_S.c.submission_id, _S.c.superseded_by, _S.c.patient_pseudonym, _S.c.bundle_json]
    for rows in _batches(connection, _S, columns):
        values = []
        for row in rows:
            text = rewrite_text(row.bundle_json, move)
            values.append(
                {
                    "pk": row.id,
                    "sid": rewrite_text(row.submission_id, move),
                    "by": rewrite_text(row.superseded_by, move) if row.superseded_by else None,
                    "patient": move(row.patient_pseudonym),
                    "json": text,
                    "hash": hashlib.sha256(text.encode("utf-8")).hexdigest(),
                }
            )
        connection.execute(statement, values)
        done += len(rows)
        report("submissions", done, total)
    return done


def _rekey_children(connection: Connection, move: Callable[[str], str], report: Progress) -> int:
    total = connection.execute(select(func.count()).select_from(_C)).scalar_one()
    statement = update(_C).where(_C.c.id == bindparam("pk")).values(child_pseudonym=bindparam("child"))
    done = 0
    for rows in _batches(connection, _C, [_C.c.child_pseudonym]):
        values = [{"pk": row.id, "child": move(row.child_pseudonym)} for row in rows if row.child_pseudonym]
        if values:
            connection.execute(statement, values)
        done += len(rows)
        report("child_facts", done, total)
    return done


def _rekey_resources(connection: Connection, move: Callable[[str], str], report: Progress) -> int:
    total = connection.execute(select(func.count()).select_from(_R)).scalar_one()
    statement = update(_R).where(_R.c.id == bindparam("pk")).values(body=bindparam("body"))
    done = 0
    for rows in _batches(connection, _R, [_R.c.body]):
        connection.execute(statement, [{"pk": row.id, "body": rewrite_text(row.body, move)} for row in rows])
        done += len(rows)
        report("resources", done, total)
    return done


def _rekey_fhir_store(connection: Connection, move: Callable[[str], str], report: Progress) -> int:
    """The FHIR store's current bodies and, batch by batch, every earlier version of the same resources."""
    total = connection.execute(select(func.count()).select_from(_F)).scalar_one()
    current = update(_F).where(_F.c.id == bindparam("pk")).values(body=bindparam("body"))
    versions = (
        update(_FV)
        .where(_FV.c.resource_pk == bindparam("pk"), _FV.c.version_id == bindparam("version"))
        .values(body=bindparam("body"))
    )
    done = 0
    for rows in _batches(connection, _F, [_F.c.body]):
        connection.execute(current, [{"pk": row.id, "body": rewrite_text(row.body, move)} for row in rows])
        history = connection.execute(
            select(_FV.c.resource_pk, _FV.c.version_id, _FV.c.body).where(
                _FV.c.resource_pk.in_([row.id for row in rows])
            )
        ).all()
        if history:
            connection.execute(
                versions,
                [{"pk": v.resource_pk, "version": v.version_id, "body": rewrite_text(v.body, move)}
                 for v in history],
            )
        done += len(rows)
        report("fhir_resources", done, total)
    return done


def _rekey_fhir_identifiers(connection: Connection, move: Callable[[str], str], report: Progress) -> int:
    """The FHIR store's identifier tokens (an NHS number is searched through its pseudonym)."""
    total = connection.execute(select(func.count()).select_from(_FI)).scalar_one()
    statement = update(_FI).where(_FI.c.id == bindparam("pk")).values(value=bindparam("value"))
    done = 0
    for rows in _batches(connection, _FI, [_FI.c.value]):
        values = [{"pk": row.id, "value": rewrite_text(row.value, move)} for row in rows if row.value]
        if values:
            connection.execute(statement, values)
        done += len(rows)
        report("fhir_identifiers", done, total)
    return done
