"""Pseudonymisation key safety: the key's fingerprint in the database, so the collector refuses to start
with a key other than the one its pseudonyms were made with (another key would turn resends into 409s and
stop corrections superseding: a patient counted twice). The key's one normal form and minimum length are
``settings.normalise_key`` and ``settings.check_length``.

The fingerprint is ``HMAC-SHA256(key, FINGERPRINT_LABEL)``: it identifies the key without revealing it, and
it cannot be used to pseudonymise anything (the label is not an NHS number).
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from .schema import CollectorSetting
from .settings import ConfigurationError

FINGERPRINT_LABEL = b"fhir-family pseudonymisation key fingerprint v1"
FINGERPRINT_SETTING = "pseudonym_key_fingerprint"


def fingerprint(key: bytes) -> str:
    return hmac.new(key, FINGERPRINT_LABEL, hashlib.sha256).hexdigest()


def check_fingerprint(sessions: sessionmaker[Session], key: bytes) -> None:
    """Record the key's fingerprint on first start; refuse (ConfigurationError) a key whose fingerprint
    differs from the recorded one."""
    expected = fingerprint(key)
    for _attempt in range(2):  # two processes starting at once: the loser reads the winner's row
        with sessions() as session:
            row = session.get(CollectorSetting, FINGERPRINT_SETTING)
            if row is not None:
                if not hmac.compare_digest(row.value, expected):
                    raise ConfigurationError(
                        "The pseudonymisation key differs from the one this database's pseudonyms were "
                        f"made with (key fingerprint {expected[:12]}..., database {row.value[:12]}...): "
                        "start with the original key, or move the database to this one with `fhir-family "
                        "collector rekey --old-key-file OLD --new-key-file NEW` (README, Security)"
                    )
                return
            now = datetime.now(UTC)
            session.add(CollectorSetting(name=FINGERPRINT_SETTING, value=expected, updated_at=now))
            try:
                session.commit()
                return
            except IntegrityError:
                session.rollback()
    raise ConfigurationError("Could not record the pseudonymisation key's fingerprint")
