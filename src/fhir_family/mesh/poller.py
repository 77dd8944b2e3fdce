"""The collector's MESH inbox: each message on the collection's workflow goes through exactly the path of
``$import`` (``collector.bulk.line_outcomes``: validation, pseudonymisation, one atomic transaction per
return, resend no-op, supersession), the per-line outcome goes back to the sender's mailbox, and only then is
the message acknowledged.

Why this order is safe: every line is committed before the outcome is sent, and the message is acknowledged
only after both. A poller that dies anywhere before the acknowledgement leaves the message in the inbox; the
next poll retrieves it again, every line already stored is a no-op (same submission id, same content), and
the sender receives a complete outcome. Nothing is lost and nothing is stored twice; the sender may receive
a second outcome for the same local id, whose lines then say "already stored".

The sender's mailbox is bound to an ODS code (``collector.mailboxes``); an unbound mailbox's message is
refused whole, audited, answered with an outcome and acknowledged (it cannot succeed by being retried).
"""

from __future__ import annotations

import json
import logging
import os
import signal
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..collector.bulk import line_outcomes
from ..collector.mailboxes import mailbox_principal
from ..collector.service import Collector
from ..collector.spool import EncryptedSpool, spool_stream
from .config import MeshSettings, MeshTransportError, mesh_errors, transport_error
from .outcomes import ACCEPTED, line_resource, message_refused
from .sender import NDJSON

log = logging.getLogger(__name__)

CRASH_ENV = "FHIR_FAMILY_MESH_CRASH_BEFORE_ACK"
"""Test hook: when set to 1 the poller kills itself (SIGKILL) after storing a message's lines and before
sending the outcome and acknowledging, as a crashed host would."""


@dataclass(frozen=True)
class MessageResult:
    """What happened to one MESH message (``acknowledged`` False: left in the inbox for the next poll)."""

    message_id: str
    sender: str | None
    local_id: str | None
    lines: int
    accepted: int
    refused_whole: bool = False
    acknowledged: bool = True


@contextmanager
def _deleting(spool: EncryptedSpool) -> Iterator[EncryptedSpool]:
    """The spool, deleted when the block ends however it ends."""
    try:
        yield spool
    finally:
        spool.delete()


@contextmanager
def _private_file(prefix: str) -> Iterator[Path]:
    """A temporary file only this user can read (it may hold raw NHS numbers), always deleted."""
    fd, name = tempfile.mkstemp(prefix=prefix, suffix=".ndjson")
    os.close(fd)
    path = Path(name)
    try:
        yield path
    finally:
        path.unlink(missing_ok=True)


class MeshPoller:
    """Polls one collector mailbox; one instance per process."""

    def __init__(self, collector: Collector, settings: MeshSettings) -> None:
        self.collector = collector
        self.settings = settings

    def poll_once(self) -> list[MessageResult]:
        """Handle every message now waiting on the collection's workflow; other flows' messages stay."""
        results: list[MessageResult] = []
        try:
            with self.settings.client() as client:
                for message_id in list(client.iterate_message_ids(workflow_filter=self.settings.workflow_id)):
                    result = self._handle(client, message_id)
                    if result is not None:
                        results.append(result)
        except mesh_errors() as exc:
            raise transport_error("poll", exc) from exc
        return results

    def _handle(self, client: Any, message_id: str) -> MessageResult | None:
        message = client.retrieve_message(message_id)
        if message.workflow_id != self.settings.workflow_id:
            message.close()
            return None
        sender, local_id = message.sender, message.local_id
        principal = mailbox_principal(self.collector.sessions, sender)
        if principal is None:
            message.close()
            text = f"MESH mailbox {sender} is not bound to a provider: its message {message_id} was refused"
            self.collector.audit(f"MESH {sender}", "mesh-submit", local_id or message_id, 403, text)
            self._reply(client, sender, local_id, message_id, [message_refused(text, message_id)])
            client.acknowledge_message(message_id)
            return MessageResult(message_id, sender, local_id, 0, 0, refused_whole=True)
        # The message is spooled encrypted, as $import's body is (collector/spool.py): a crash here leaves no
        # raw NHS number on disk, and the collector's next start sweeps the unreadable file.
        spool = spool_stream(iter(lambda: message.read(1 << 20), b""))
        message.close()
        with _private_file("ff-mesh-outcome-") as answer, _deleting(spool):
            lines = accepted = failed = 0
            with answer.open("w", encoding="utf-8") as outcomes:
                for result in line_outcomes(self.collector, principal, spool):
                    lines += 1
                    accepted += result["status"] in ACCEPTED
                    failed += result["status"] >= 500
                    outcomes.write(json.dumps(line_resource(result), ensure_ascii=False) + "\n")
            if failed:
                # Those lines are not committed: keep the message (no outcome, no acknowledgement) so the
                # next poll retries it; the lines already stored will then be no-ops.
                text = f"MESH message {message_id}: {failed} line(s) failed; left in the inbox"
                self.collector.audit(principal, "mesh-import", local_id or message_id, 500, text)
                log.error("%s", text)
                return MessageResult(message_id, sender, local_id, lines, accepted, acknowledged=False)
            if lines == 0:
                text = f"MESH message {message_id} holds no return: send one national-return bundle per line"
                answer.write_text(json.dumps(message_refused(text, message_id)) + "\n", encoding="utf-8")
            if os.environ.get(CRASH_ENV) == "1":
                os.kill(os.getpid(), signal.SIGKILL)
            self._send(client, sender, local_id, message_id, answer)
        client.acknowledge_message(message_id)  # only now: every line is committed and the outcome is sent
        self.collector.audit(
            principal, "mesh-import", local_id or message_id, 200,
            f"MESH message {message_id}: {lines} line(s), {accepted} stored or unchanged, "
            f"{lines - accepted} refused",
        )
        return MessageResult(message_id, sender, local_id, lines, accepted)

    def _reply(
        self, client: Any, to: str, local_id: str | None, message_id: str, resources: list[dict[str, Any]]
    ) -> None:
        with _private_file("ff-mesh-outcome-") as answer:
            with answer.open("w", encoding="utf-8") as out:
                for resource in resources:
                    out.write(json.dumps(resource, ensure_ascii=False) + "\n")
            self._send(client, to, local_id, message_id, answer)

    def _send(self, client: Any, to: str, local_id: str | None, message_id: str, answer: Path) -> None:
        reply_id = local_id or message_id
        with answer.open("rb") as data:
            client.send_message(
                to,
                data,
                workflow_id=self.settings.ack_workflow_id,
                local_id=reply_id,
                filename=f"{reply_id}.outcomes.ndjson",
                subject=f"outcome of MESH message {message_id}",
                content_type=NDJSON,
            )


def poll_forever(poller: MeshPoller, interval: float, stop: Any = None) -> None:
    """Poll every ``interval`` seconds until ``stop`` (a threading.Event) is set; MESH errors are logged and
    retried at the next poll (the unacknowledged messages are still there)."""
    import threading

    stop = stop or threading.Event()
    while not stop.is_set():
        try:
            for result in poller.poll_once():
                log.info("MESH message %s from %s: %s line(s), %s accepted", result.message_id,
                         result.sender, result.lines, result.accepted)
        except MeshTransportError as exc:
            log.warning("%s; retrying in %s s", exc, interval)
        stop.wait(interval)
