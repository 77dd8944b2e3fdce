"""Text lines from a binary stream, decoded one line at a time, so one undecodable line costs that line only.

Decoding a whole stream through ``io.TextIOWrapper`` fails a whole chunk (8 KiB) at the first bad byte: the
lines before it in that chunk are lost and nothing after it is read. Here every line is decoded on its own.
With ``skip_bad`` (NDJSON, where a line is an item) a bad line is handed on as a blank line, which parsers
skip, and recorded in ``bad`` for the caller to report under its line number; without it (CSV, where a return
spans rows) the ``UnicodeDecodeError`` stops reading at that line, after every line before it was used.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

_BOM = b"\xef\xbb\xbf"


class DecodedLines:
    """``stream``'s lines (``\\n``-terminated bytes, ends kept) as UTF-8 text; a leading BOM is dropped."""

    def __init__(self, stream: Iterable[bytes], skip_bad: bool) -> None:
        self._stream = stream
        self._skip_bad = skip_bad
        self.bad: list[tuple[int, UnicodeDecodeError]] = []
        """``(line number, error)`` of every line handed on blank because it is not UTF-8, in order."""
        self.stopped_at: int | None = None
        """Without ``skip_bad``: the number of the line that stopped reading."""

    def __iter__(self) -> Iterator[str]:
        for number, raw in enumerate(self._stream, 1):
            if number == 1 and raw.startswith(_BOM):
                raw = raw[len(_BOM):]
            try:
                yield raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                if not self._skip_bad:
                    self.stopped_at = number
                    raise
                self.bad.append((number, exc))
                yield "\n"

    def take_bad(self, before: int | None = None) -> list[tuple[int, UnicodeDecodeError]]:
        """Remove and return the recorded bad lines numbered below ``before`` (all when None)."""
        taken = [item for item in self.bad if before is None or item[0] < before]
        self.bad = self.bad[len(taken):]
        return taken
