"""MESH settings for both ends: where the MESH API is, which mailbox we are, who we send to, and the workflow
ids of this collection. Secrets (mailbox password, shared key, client certificate and key) come from the
environment or a config dict, never from the repository or a command line.

Workflow ids: ``FHIR_FAMILY_PARENTAL_STATUS`` carries returns from a provider's mailbox to the
collector's; ``FHIR_FAMILY_PARENTAL_STATUS_ACK`` carries the collector's per-line outcome back (MESH's
``_ACK`` convention).
A live deployment registers both with NHS England's MESH team; ``FHIR_FAMILY_MESH_WORKFLOW`` overrides them.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

from ..errors import FhirFamilyError

RETURN_WORKFLOW = "FHIR_FAMILY_PARENTAL_STATUS"
ACK_SUFFIX = "_ACK"
DEFAULT_CHUNK_SIZE = 20 * 1024 * 1024
"""Bytes per MESH chunk: MESH allows up to 100 MB; 20 MB keeps the sender's and receiver's memory small."""
ENV_PREFIX = "FHIR_FAMILY_MESH_"


class MeshConfigurationError(FhirFamilyError):
    """MESH is asked for but not configured well enough to connect: HTTP 503, CLI exit 2."""

    http_status = 503


class MeshTransportError(FhirFamilyError):
    """MESH answered with an error or could not be reached (after the client's own retries): HTTP 502."""

    http_status = 502


def transport_error(action: str, exc: Exception) -> MeshTransportError:
    """A failure of ``mesh-client`` (after its own retries) as the project's error, in one line."""
    return MeshTransportError(f"MESH {action} failed: {exc.__class__.__name__}: {exc}")


def mesh_errors() -> tuple[type[BaseException], ...]:
    """What ``mesh-client`` raises: its MeshError and requests' errors (HTTP status, connection, timeout)."""
    import requests
    from mesh_client import MeshError

    return (MeshError, requests.RequestException)


def _is_loopback(host: str | None) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host or "").is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class MeshSettings:
    """One mailbox's view of MESH."""

    url: str
    mailbox: str
    password: str
    shared_key: str
    to_mailbox: str | None = None
    """The collector's mailbox (senders only)."""
    workflow_id: str = RETURN_WORKFLOW
    cert: tuple[str, str] | None = None
    """Client certificate and private key files (MESH uses mutual TLS)."""
    ca_bundle: str | None = None
    chunk_size: int = DEFAULT_CHUNK_SIZE
    max_retries: int = 3

    @property
    def ack_workflow_id(self) -> str:
        return self.workflow_id + ACK_SUFFIX

    @classmethod
    def from_env(cls, overrides: Mapping[str, Any] | None = None) -> MeshSettings:
        """Settings from ``FHIR_FAMILY_MESH_*`` variables, each overridable by a key of ``overrides`` (the
        same names without the prefix, e.g. ``{"MAILBOX": "X26ABC1"}``); None values do not override."""
        given = {k.upper(): v for k, v in (overrides or {}).items() if v is not None}

        def value(name: str, default: str | None = None) -> str | None:
            return given.get(name, os.environ.get(ENV_PREFIX + name, default))

        missing = [ENV_PREFIX + n for n in ("URL", "MAILBOX", "PASSWORD", "SHARED_KEY") if not value(n)]
        if missing:
            raise MeshConfigurationError(f"MESH is not configured: set {', '.join(missing)}")
        url = str(value("URL")).rstrip("/")
        parsed = urlparse(url)
        if parsed.scheme not in ("http", "https") or not parsed.hostname:
            raise MeshConfigurationError(f"{ENV_PREFIX}URL must be an http(s) URL, not {url!r}")
        if parsed.scheme == "http" and not _is_loopback(parsed.hostname):
            raise MeshConfigurationError(
                f"{ENV_PREFIX}URL is plain http to {parsed.hostname}: only a loopback sandbox may skip TLS"
            )
        cert_file, key_file = value("CERT"), value("KEY")
        if bool(cert_file) != bool(key_file):
            raise MeshConfigurationError(f"Set both {ENV_PREFIX}CERT and {ENV_PREFIX}KEY, or neither")
        try:
            chunk_size = int(value("CHUNK_SIZE", str(DEFAULT_CHUNK_SIZE)) or DEFAULT_CHUNK_SIZE)
            max_retries = int(value("RETRIES", "3") or 3)
        except ValueError as exc:
            text = f"{ENV_PREFIX}CHUNK_SIZE and {ENV_PREFIX}RETRIES must be integers: {exc}"
            raise MeshConfigurationError(text) from exc
        if chunk_size < 1024:
            raise MeshConfigurationError(f"{ENV_PREFIX}CHUNK_SIZE must be at least 1024 bytes")
        return cls(
            url=url,
            mailbox=str(value("MAILBOX")),
            password=str(value("PASSWORD")),
            shared_key=str(value("SHARED_KEY")),
            to_mailbox=value("TO"),
            workflow_id=str(value("WORKFLOW", RETURN_WORKFLOW)),
            cert=(cert_file, key_file) if cert_file and key_file else None,
            ca_bundle=value("CA"),
            chunk_size=chunk_size,
            max_retries=max_retries,
        )

    def client(self):  # type: ignore[no-untyped-def]
        """A ``mesh_client.MeshClient`` for this mailbox (close it, or use it in a ``with`` block)."""
        from mesh_client import MeshClient

        return MeshClient(
            self.url,
            self.mailbox,
            self.password,
            shared_key=self.shared_key.encode("utf-8"),
            cert=self.cert,
            verify=self.ca_bundle,
            max_chunk_size=self.chunk_size,
            transparent_compress=True,
            max_retries=self.max_retries,
            application_name="fhir-family",
        )
