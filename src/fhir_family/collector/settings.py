"""Collector settings: one place that reads config dicts and the environment, so every entry point agrees.

The pseudonymisation key is a secret: it comes from the config, ``FHIR_FAMILY_PSEUDONYM_KEY`` or a key file
(``fhir-family up`` writes a local one under ``var/``); it is never stored in the repository or the database.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
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


def read_pseudonym_key(key_file: Path | None = None) -> bytes:
    """The HMAC key: ``FHIR_FAMILY_PSEUDONYM_KEY`` first, then the key file; refuse to run without one."""
    value = os.environ.get("FHIR_FAMILY_PSEUDONYM_KEY")
    if value:
        return value.encode("utf-8")
    path = key_file or DEFAULT_KEY_PATH
    if path.is_file():
        text = path.read_text(encoding="utf-8").strip()
        if text:
            return text.encode("utf-8")
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

    @classmethod
    def from_config(cls, config: dict[str, Any] | None) -> CollectorSettings:
        config = dict(config or {})
        key = config.get("PSEUDONYM_KEY")
        if isinstance(key, str):
            key = key.encode("utf-8")
        if not key:
            key_file = config.get("PSEUDONYM_KEY_FILE")
            key = read_pseudonym_key(Path(key_file) if key_file else None)
        return cls(
            database_url=config.get("DATABASE_URL") or default_database_url(),
            pseudonym_key=key,
            migrate=bool(config.get("MIGRATE", True)),
            allow_query_token=bool(config.get("ALLOW_QUERY_TOKEN", False)),
            import_workers=int(config.get("IMPORT_WORKERS", 2)),
        )
