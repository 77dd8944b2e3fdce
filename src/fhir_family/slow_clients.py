"""A gunicorn worker that slow clients cannot starve (slowloris): requests are read in the main loop first.

gunicorn's ``gthread`` worker hands a connection to a thread as soon as its first byte arrives; the thread
then blocks in ``recv`` until the whole request head (and later the body) is in. A client that sends half a
header and then one byte a minute holds a thread for ever, so 8 such connections stopped the collector (8
threads) and 4 the facade. :class:`BufferingThreadWorker` is ``gthread`` with one change: the worker's main
loop, which already multiplexes every socket with a selector, reads each request's head and the first
``BODY_BUFFER`` bytes of its body without blocking, and only a request that has fully arrived (or whose
first ``BODY_BUFFER`` bytes have) is handed to a thread. A slow client holds a small buffer, not a thread.

Deadlines (environment variables, seconds, read when a worker starts):

- ``FHIR_FAMILY_HEADER_TIMEOUT`` (default 10): from the connection (or the end of the previous request on a
  kept-alive connection) to the end of the request head.
- ``FHIR_FAMILY_BODY_TIMEOUT`` (default 30): from the end of the head to the end of the buffered body; it is
  also the socket timeout of every read and write a thread makes afterwards (the rest of a body over
  ``BODY_BUFFER``, and the answer to a client that does not read it).

A connection past its deadline gets a 408 OperationOutcome and is closed. gunicorn's other limits still apply
(``worker_connections`` per worker, ``limit_request_line``, ``limit_request_fields``,
``limit_request_field_size``). In production a reverse proxy in front still buffers and limits first
(README, "Security").
"""

from __future__ import annotations

import contextlib
import errno
import os
import selectors
import time
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from gunicorn import util
from gunicorn.workers.gthread import TConn, ThreadWorker

from .outcome import IssueType
from .server_errors import error_answer, refusal

BODY_BUFFER = 1 << 20
"""Body bytes read in the main loop before a thread takes over (bounded memory per slow connection)."""
HEAD_LIMIT = 64 * 1024
"""A head still unfinished at this size goes to gunicorn's parser, which refuses it with its limits."""
DEFAULT_HEADER_TIMEOUT = 10.0
DEFAULT_BODY_TIMEOUT = 30.0
_BREAK = b"\r\n\r\n"


def _seconds(name: str, default: float) -> float:
    value = os.environ.get(name)
    return float(value) if value else default


@dataclass
class PendingRequest:
    """The bytes of one request read so far, and when the client must have sent what it owes."""

    deadline: float
    data: bytearray = field(default_factory=bytearray)
    head_end: int = -1  # index just past the head's blank line, once it arrived

    framing: tuple[int | None, bool] = (0, False)  # (Content-Length, chunked), read from the head

    def head_arrived(self) -> bool:
        """Whether the head's blank line is in (found once, then remembered with the body's framing)."""
        if self.head_end < 0:
            found = self.data.find(_BREAK)
            if found >= 0:
                self.head_end = found + len(_BREAK)
                self.framing = _body_framing(bytes(self.data[: self.head_end]))
        return self.head_end >= 0

    def take_expect_continue(self) -> bool:
        """Whether the head asks ``Expect: 100-continue``; the header is removed, since this worker answers
        it (a client may wait for the interim answer before sending its body, which is read here)."""
        head = bytes(self.data[: self.head_end])
        lines = head.split(b"\r\n")
        kept = [line for line in lines[1:] if line.partition(b":")[0].strip().lower() != b"expect"]
        if len(kept) == len(lines) - 1:
            return False
        expect = any(line.partition(b":")[2].strip().lower() == b"100-continue" for line in lines[1:]
                     if line.partition(b":")[0].strip().lower() == b"expect")
        new_head = b"\r\n".join([lines[0], *kept])
        self.data[: self.head_end] = new_head
        self.head_end = len(new_head)
        return expect

    def complete(self) -> bool:
        """Whether a thread may take the request now: head and (buffered part of the) body are in, or the
        head is malformed or too big, which gunicorn's own parser then refuses at once."""
        if self.head_end < 0:
            return len(self.data) > HEAD_LIMIT
        body = len(self.data) - self.head_end
        if body >= BODY_BUFFER:
            return True
        length, chunked = self.framing
        if chunked:
            return _chunked_complete(self.data, self.head_end)
        return length is None or body >= length


def _body_framing(head: bytes) -> tuple[int | None, bool]:
    """(Content-Length, chunked) from a request head; a length that is not one clean number is None, so the
    request goes to gunicorn's parser as it is and is refused there."""
    length: int | None = 0
    chunked = False
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"content-length":
            value = value.strip()
            length = int(value) if value.isdigit() and len(value) < 19 and length == 0 else None
        elif name == b"transfer-encoding" and b"chunked" in value.lower():
            chunked = True
    return length, chunked


def _chunked_complete(data: bytearray, start: int) -> bool:
    """Whether a chunked body starting at ``start`` has reached its last (zero) chunk and trailer end."""
    position = start
    while True:
        line_end = data.find(b"\r\n", position)
        if line_end < 0:
            return False
        size_text = bytes(data[position:line_end]).split(b";", 1)[0].strip()
        try:
            size = int(size_text, 16)
        except ValueError:
            return True  # malformed: gunicorn's parser refuses it
        if size == 0:
            return data.find(_BREAK, line_end) >= 0  # the blank line after the (optional) trailers
        position = line_end + 2 + size + 2
        if position > len(data):
            return False


def timeout_answer() -> bytes:
    """The 408 a client past its deadline gets: an OperationOutcome, as every error of these servers."""
    return error_answer(408, IssueType.TIMEOUT,
                        "the request did not arrive in time (a slow or stalled client); send it again whole")


class BufferingThreadWorker(ThreadWorker):
    """``gthread`` whose main loop reads each request before any thread sees it (module docstring)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.pending: dict[TConn, PendingRequest] = {}
        self.header_timeout = _seconds("FHIR_FAMILY_HEADER_TIMEOUT", DEFAULT_HEADER_TIMEOUT)
        self.body_timeout = _seconds("FHIR_FAMILY_BODY_TIMEOUT", DEFAULT_BODY_TIMEOUT)

    def accept(self, server: Any, listener: Any) -> None:
        try:
            sock, client = listener.accept()
        except OSError as exc:
            if exc.errno not in (errno.EAGAIN, errno.ECONNABORTED, errno.EWOULDBLOCK):
                raise
            return
        conn = TConn(self.cfg, sock, client, server)
        self.nr_conns += 1
        if self.cfg.is_ssl:  # TLS bytes cannot be read ahead of the handshake: plain gthread behaviour
            with self._lock:
                self.poller.register(conn.sock, selectors.EVENT_READ,
                                     partial(super().on_client_socket_readable, conn))
            return
        self._start_reading(conn)

    def _start_reading(self, conn: TConn) -> None:
        self.pending[conn] = PendingRequest(deadline=time.monotonic() + self.header_timeout)
        with self._lock:
            self.poller.register(conn.sock, selectors.EVENT_READ, partial(self._read_some, conn))

    def on_client_socket_readable(self, conn: TConn, client: Any) -> None:
        """A kept-alive connection sent its next request: read it ahead like a new one."""
        with self._lock:
            self.poller.unregister(client)
            try:
                self._keep.remove(conn)
            except ValueError:  # closed by murder_keepalived meanwhile
                return
        self._start_reading(conn)

    def _read_some(self, conn: TConn, client: Any) -> None:
        pending = self.pending.get(conn)
        if pending is None:
            return
        try:
            data = conn.sock.recv(65536)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        if not data:  # the client went away before finishing its request
            self._drop(conn)
            return
        pending.data += data
        if pending.head_end < 0 and pending.head_arrived():
            pending.deadline = time.monotonic() + self.body_timeout
            if pending.take_expect_continue() and not pending.complete():
                with contextlib.suppress(OSError):  # a few bytes: the socket buffer takes them at once
                    conn.sock.send(b"HTTP/1.1 100 Continue\r\n\r\n")
        if pending.complete():
            self._hand_over(conn, pending)

    def _hand_over(self, conn: TConn, pending: PendingRequest) -> None:
        del self.pending[conn]
        with self._lock:
            self.poller.unregister(conn.sock)
        conn.init()
        conn.parser.unreader.unread(bytes(pending.data))
        conn.sock.settimeout(self.body_timeout)
        future = self.tpool.submit(self.handle, conn)
        self._wrap_future(future, conn)

    def _drop(self, conn: TConn, answer: bytes = b"") -> None:
        self.pending.pop(conn, None)
        with self._lock, contextlib.suppress(KeyError, ValueError, OSError):  # already gone from the poller
            self.poller.unregister(conn.sock)
        if answer:
            with contextlib.suppress(OSError):  # best effort: the client may be gone
                conn.sock.send(answer)
        self.nr_conns -= 1
        conn.close()

    def handle_error(self, req: Any, client: Any, addr: Any, exc: BaseException) -> None:
        """gunicorn's refusals (request line or headers too long, malformed requests) and unexpected failures
        as an OperationOutcome, not gunicorn's HTML page (``server_errors.py``)."""
        status, code, diagnostics = refusal(exc)
        where = addr[0] if isinstance(addr, tuple) and addr else addr
        if status >= 500:
            self.log.exception("Error handling request from %s", where)
        else:
            self.log.warning("Invalid request from ip=%s: %s", where, exc)
        try:
            util.write_nonblock(client, error_answer(status, code, diagnostics))
        except Exception:  # noqa: BLE001 - the client may be gone; nothing more to tell it
            self.log.debug("Failed to send error message.")

    def murder_keepalived(self) -> None:
        """gunicorn's idle keep-alive sweep, then the same for requests past their deadline (408)."""
        super().murder_keepalived()
        now = time.monotonic()
        for conn in [c for c, pending in self.pending.items() if pending.deadline <= now]:
            self.log.warning("Closing a connection from %s: its request did not arrive in time",
                             conn.client[0] if isinstance(conn.client, tuple) else conn.client)
            self._drop(conn, timeout_answer())


WORKER_CLASS = f"{__name__}.{BufferingThreadWorker.__name__}"
"""gunicorn's ``worker_class`` setting for this worker (a dotted path, as gunicorn loads it)."""
