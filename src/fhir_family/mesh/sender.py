"""Sending returns by MESH and fetching the collector's outcomes: the provider's end.

One return or one batch per MESH message, on the collection's workflow id. A single return's MESH local id is
its submission id; a batch's is ``batch-`` and the first 32 hex digits of the SHA-256 of its NDJSON, so a
resend of the same return or batch carries the same local id (and every line is a no-op at the collector).
Batches are written to a private temporary file and streamed from it: ``mesh_client`` splits them into
chunks of ``chunk_size`` bytes (gzip per chunk) and retries failed requests as it is configured to.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import messages as msg
from ..collector.client import CollectorAnswer
from ..outcome import Issue, IssueSeverity, IssueType, operation_outcome
from .config import MeshSettings, MeshTransportError, mesh_errors, transport_error
from .outcomes import is_accepted

NDJSON = "application/x-ndjson"


@dataclass(frozen=True)
class SentMessage:
    message_id: str
    local_id: str
    returns: int


@dataclass(frozen=True)
class OutcomeFile:
    """An outcome message fetched from the inbox and saved (then acknowledged)."""

    path: Path
    local_id: str | None
    message_id: str
    lines: int
    accepted: int

    @property
    def refused(self) -> int:
        return self.lines - self.accepted


def submission_id(bundle: dict[str, Any]) -> str | None:
    identifier = bundle.get("identifier")
    value = identifier.get("value") if isinstance(identifier, dict) else None
    return value if isinstance(value, str) and value else None


@contextmanager
def batch_file(bundles: Iterable[dict[str, Any]]) -> Iterator[tuple[Path, int, str]]:
    """The bundles as NDJSON in a private temporary file (mode 600, deleted after): (path, count, local id).
    One bundle keeps its submission id as local id; more make a ``batch-<sha256>`` id."""
    fd, name = tempfile.mkstemp(prefix="ff-mesh-out-", suffix=".ndjson")
    path = Path(name)
    digest = hashlib.sha256()
    count, first_id = 0, None
    try:
        with os.fdopen(fd, "wb") as out:
            for bundle in bundles:
                line = json.dumps(bundle, ensure_ascii=False, separators=(",", ":")).encode("utf-8") + b"\n"
                digest.update(line)
                out.write(line)
                count += 1
                first_id = first_id or submission_id(bundle)
        local_id = first_id if count == 1 and first_id else f"batch-{digest.hexdigest()[:32]}"
        yield path, count, local_id
    finally:
        path.unlink(missing_ok=True)


def send_file(settings: MeshSettings, path: Path, local_id: str, returns: int) -> SentMessage:
    """Send an NDJSON file of national-return bundles to the collector's mailbox as one message."""
    if not settings.to_mailbox:
        raise MeshTransportError("No collector mailbox to send to: set FHIR_FAMILY_MESH_TO")
    try:
        with settings.client() as client, path.open("rb") as data:
            message_id = client.send_message(
                settings.to_mailbox,
                data,
                workflow_id=settings.workflow_id,
                local_id=local_id,
                filename=f"{local_id}.ndjson",
                subject=f"{returns} national return(s)",
                content_type=NDJSON,
            )
    except mesh_errors() as exc:
        raise transport_error("send", exc) from exc
    return SentMessage(message_id, local_id, returns)


def send_returns(settings: MeshSettings, bundles: Iterable[dict[str, Any]]) -> SentMessage:
    """One message for these bundles (one return or a batch), streamed from a temporary file."""
    with batch_file(bundles) as (path, count, local_id):
        if count == 0:
            raise MeshTransportError("Nothing to send: no conformant return")
        return send_file(settings, path, local_id, count)


def read_outcomes(path: Path) -> Iterator[dict[str, Any]]:
    """The OperationOutcomes of a saved outcome file; a line that is not one reads as a refusal saying so."""
    with path.open("rb") as saved:
        for number, raw in enumerate(saved, 1):
            if not raw.strip():
                continue
            try:
                resource = json.loads(raw)
            except ValueError:
                resource = None
            if not isinstance(resource, dict) or resource.get("resourceType") != "OperationOutcome":
                text = f"{path.name} line {number} is not an OperationOutcome"
                resource = operation_outcome(
                    [Issue(severity=IssueSeverity.ERROR, code=IssueType.STRUCTURE, diagnostics=text)]
                )
            yield resource


def fetch_outcomes(settings: MeshSettings, out_dir: Path) -> list[OutcomeFile]:
    """Save every outcome message in our inbox as ``OUT_DIR/<local id>.<message id>.outcomes.ndjson`` and
    acknowledge it only once the file is written and flushed to disk."""
    out_dir.mkdir(parents=True, exist_ok=True)
    fetched: list[OutcomeFile] = []
    try:
        with settings.client() as client:
            for message_id in client.iterate_message_ids(workflow_filter=settings.ack_workflow_id):
                message = client.retrieve_message(message_id)
                if message.workflow_id != settings.ack_workflow_id:
                    message.close()  # another flow's message in the same mailbox: not ours to take
                    continue
                local_id = message.local_id
                safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in (local_id or "unknown"))
                path = out_dir / f"{safe}.{message_id}.outcomes.ndjson"
                with path.open("wb") as out:
                    shutil.copyfileobj(message, out, 1 << 20)
                    out.flush()
                    os.fsync(out.fileno())
                message.close()
                lines = accepted = 0
                for resource in read_outcomes(path):
                    lines += 1
                    accepted += is_accepted(resource)
                client.acknowledge_message(message_id)
                fetched.append(OutcomeFile(path, local_id, message_id, lines, accepted))
    except mesh_errors() as exc:
        raise transport_error("fetch", exc) from exc
    return fetched


class MeshForwarder:
    """The facade's forwarder when ``COLLECTOR_TRANSPORT`` is ``mesh``: same ``submit`` as
    ``CollectorClient``, answering 202 Accepted once MESH has the message (the collector's outcome arrives
    later in the facade's mailbox: ``fhir-family submit --via mesh --fetch-outcomes``)."""

    def __init__(self, settings: MeshSettings) -> None:
        self.settings = settings

    def submit(self, bundle: dict[str, Any]) -> CollectorAnswer:
        sent = send_returns(self.settings, [bundle])
        text = (
            f"Sent by MESH to mailbox {self.settings.to_mailbox} as message {sent.message_id} "
            f"(local id {sent.local_id}, workflow {self.settings.workflow_id}); the collector's outcome "
            f"comes back to mailbox {self.settings.mailbox}"
        )
        issue = Issue(
            severity=IssueSeverity.INFORMATION,
            code=IssueType.INFORMATIONAL,
            diagnostics=text,
            expression=None,
            message_id=msg.MESH_SENT,
        )
        headers = {"X-Mesh-Message-Id": sent.message_id, "X-Mesh-Local-Id": sent.local_id}
        return CollectorAnswer(202, operation_outcome([issue]), headers)

    def close(self) -> None:
        """Nothing held open: each send opens and closes its own MESH session."""
