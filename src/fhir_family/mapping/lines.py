"""Text lines from a binary stream, decoded one line at a time, so one undecodable line costs that line only.

Decoding a whole stream through ``io.TextIOWrapper`` fails a whole chunk (8 KiB) at the first bad byte: the
lines before it in that chunk are lost and nothing after it is read. Here every line is decoded on its own.
With ``skip_bad`` (NDJSON, where a line is an item) a bad line is handed on as a blank line, which parsers
skip, and recorded in ``bad`` for the caller to report under its line number; without it (CSV, where a return
spans rows) the ``UnicodeDecodeError`` stops reading at that line, after every line before it was used.

``max_line_bytes`` bounds the memory one line can take: a longer line is read past in pieces of that size,
never held whole, and treated like an undecodable one (handed on blank and recorded as ``LineTooLong`` with
``skip_bad``, else raised).

With ``mark_bad`` (CSV) a bad line is neither skipped nor fatal: it is handed on as far as it can be read (its
text with U+FFFD for undecodable bytes; the first ``MARKED_PREFIX`` bytes of an over-long line) and recorded
in ``marked``, so the parser can still see which return the row belongs to and fail that return, naming the
line, while the rows around it are read as usual.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import BinaryIO

from fhir_family import messages as msg
from fhir_family.errors import InputError

_BOM = b"\xef\xbb\xbf"
MARKED_PREFIX = 4096
"""Bytes of an over-long line handed on with ``mark_bad`` (enough for the cells that place a CSV row)."""


class LineTooLong(InputError):
    """A line longer than the reader's ``max_line_bytes``: skipped unread (HTTP 413 where it ends a body)."""

    http_status = 413
    message_id = msg.LINE_TOO_LONG

    def __init__(self, limit: int, prefix: bytes = b"") -> None:
        super().__init__(f"the line is longer than {limit} bytes")
        self.limit = limit
        self.prefix = prefix


def _bounded_lines(stream: BinaryIO, limit: int) -> Iterator[bytes | LineTooLong]:
    """``stream``'s lines, or a ``LineTooLong`` for a line over ``limit`` bytes (read past, never held)."""
    while line := stream.readline(limit + 1):
        if len(line) <= limit or line.endswith(b"\n") and len(line) == limit + 1:
            yield line
            continue
        prefix = line[:MARKED_PREFIX]
        while not line.endswith(b"\n") and (line := stream.readline(limit)):
            pass
        yield LineTooLong(limit, prefix)


class DecodedLines:
    """``stream``'s lines (``\\n``-terminated bytes, ends kept) as UTF-8 text; a leading BOM is dropped."""

    def __init__(self, stream: Iterable[bytes], skip_bad: bool, max_line_bytes: int | None = None,
                 mark_bad: bool = False) -> None:
        self._stream: Iterable[bytes | LineTooLong] = (
            stream if max_line_bytes is None else _bounded_lines(stream, max_line_bytes)  # type: ignore[arg-type]
        )
        self._skip_bad = skip_bad
        self.bad: list[tuple[int, UnicodeDecodeError | LineTooLong]] = []
        """``(line number, error)`` of every line handed on blank (not UTF-8, or too long), in order."""
        self.stopped_at: int | None = None
        """Without ``skip_bad``: the number of the line that stopped reading."""
        self._mark_bad = mark_bad
        self.marked: dict[int, UnicodeDecodeError | LineTooLong] = {}
        """With ``mark_bad``: line number -> what is wrong with that line (handed on as far as readable)."""

    def __iter__(self) -> Iterator[str]:
        for number, raw in enumerate(self._stream, 1):
            if number == 1 and isinstance(raw, bytes) and raw.startswith(_BOM):
                raw = raw[len(_BOM):]
            try:
                if isinstance(raw, LineTooLong):
                    raise raw
                yield raw.decode("utf-8")
            except (UnicodeDecodeError, LineTooLong) as exc:
                if self._mark_bad:
                    self.marked[number] = exc
                    readable = raw.prefix if isinstance(raw, LineTooLong) else raw
                    text = readable.decode("utf-8", "replace")
                    yield text if text.endswith("\n") else text + "\n"
                    continue
                if not self._skip_bad:
                    self.stopped_at = number
                    raise
                self.bad.append((number, exc))
                yield "\n"

    def take_bad(self, before: int | None = None) -> list[tuple[int, UnicodeDecodeError | LineTooLong]]:
        """Remove and return the recorded bad lines numbered below ``before`` (all when None)."""
        taken = [item for item in self.bad if before is None or item[0] < before]
        self.bad = self.bad[len(taken):]
        return taken
