"""Collector settings: one place that reads config dicts and the environment, so every entry point agrees.

The pseudonymisation key is a secret: it comes from the config, ``FHIR_FAMILY_PSEUDONYM_KEY`` or a key file
(``fhir-family up`` writes a local one under ``var/``); it is never stored in the repository or the database
(only its fingerprint is: ``keys.py``). Every source is normalised the same way; 32 bytes or more.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fhir_family import messages as msg

from ..errors import FhirFamilyError

DEFAULT_DB_PATH = Path("var") / "collector.sqlite"
DEFAULT_KEY_PATH = Path("var") / "pseudonym.key"


class ConfigurationError(FhirFamilyError):
    """The collector cannot start as configured (no pseudonymisation key, bad database URL)."""

    http_status = 500
    message_id = msg.COLLECTOR_CONFIG


def default_database_url() -> str:
    """``DATABASE_URL`` when set, else a SQLite file under ``var/``."""
    return os.environ.get("DATABASE_URL") or f"sqlite:///{DEFAULT_DB_PATH}"


MIN_KEY_BYTES = 32


def normalise_key(raw: str | bytes) -> bytes:
    """The key as bytes with one trailing newline (``\\n`` or ``\\r\\n``) removed, whichever source it came
    from: ``echo key > file`` and ``export KEY=$(cat file)`` then give the same key."""
    key = raw.encode("utf-8") if isinstance(raw, str) else bytes(raw)
    if key.endswith(b"\r\n"):
        return key[:-2]
    return key[:-1] if key.endswith(b"\n") else key


def check_length(key: bytes) -> bytes:
    if len(key) < MIN_KEY_BYTES:
        raise ConfigurationError(
            f"The pseudonymisation key is {len(key)} bytes; it must be at least {MIN_KEY_BYTES} "
            "(e.g. python -c 'import secrets; print(secrets.token_hex(32))')"
        )
    return key


def usable_key(raw: str | bytes) -> bytes:
    """``raw`` in the one normal form (``normalise_key``), refused when shorter than 32 bytes."""
    return check_length(normalise_key(raw))


def read_pseudonym_key(key_file: Path | None = None) -> bytes:
    """The HMAC key: ``FHIR_FAMILY_PSEUDONYM_KEY`` first, then the key file, both normalised the same way
    (one trailing newline removed); refuse to run without one, or with one shorter than 32 bytes."""
    value = os.environ.get("FHIR_FAMILY_PSEUDONYM_KEY")
    if value:
        return usable_key(value)
    path = key_file or DEFAULT_KEY_PATH
    if path.is_file():
        data = path.read_bytes()
        if data.strip():
            return usable_key(data)
    raise ConfigurationError(
        "No pseudonymisation key: set FHIR_FAMILY_PSEUDONYM_KEY or create a key file "
        f"({path}); `fhir-family up` creates a local one."
    )


def ensure_local_key(path: Path = DEFAULT_KEY_PATH) -> Path:
    """Create a random local key file (mode 600) when absent; for the loopback demo only."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_hex(32) + "\n", encoding="utf-8")
        path.chmod(0o600)
    return path


@dataclass(frozen=True)
class CollectorSettings:
    """Everything the collector app needs; built from a config dict with the environment as fallback."""

    database_url: str
    pseudonym_key: bytes
    migrate: bool = True
    """Run Alembic migrations when the app starts (the gunicorn master does it once instead)."""
    allow_query_token: bool = False
    """Accept ``?token=`` on report pages: a loopback demo convenience, off by default."""
    import_workers: int = 2
    """Import jobs one process runs at once (threads)."""
    import_processes: int = field(default_factory=lambda: os.cpu_count() or 1)
    """Worker processes that check one large import job's lines while its thread stores them (0: none, the
    job's thread checks them too); one per core by default."""

    @classmethod
    def from_config(cls, config: dict[str, Any] | None) -> CollectorSettings:
        config = dict(config or {})
        key = config.get("PSEUDONYM_KEY")
        if key:
            key = usable_key(key)
        else:
            key_file = config.get("PSEUDONYM_KEY_FILE")
            key = read_pseudonym_key(Path(key_file) if key_file else None)
        return cls(
            database_url=config.get("DATABASE_URL") or default_database_url(),
            pseudonym_key=key,
            migrate=bool(config.get("MIGRATE", True)),
            allow_query_token=bool(config.get("ALLOW_QUERY_TOKEN", False)),
            import_workers=int(config.get("IMPORT_WORKERS", 2)),
            import_processes=int(config.get("IMPORT_PROCESSES", os.cpu_count() or 1)),
        )
