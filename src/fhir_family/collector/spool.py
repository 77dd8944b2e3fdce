"""The ``$import`` spool: the request body on disk, encrypted with a key that exists only in memory.

A month-end file is too large to hold in memory, so ``$import`` copies it to a temporary file before the
background job reads it line by line. That file holds raw NHS numbers. A job that ends deletes it, but a
process killed mid-job (``kill -9``, OOM killer, power cut) runs no clean-up and the file would stay in the
temporary folder for ever. So the spool is written encrypted (AES-256-GCM, one frame per ~1 MiB of whole
lines) under a random key generated per job and kept only in the job's memory: once the process is gone the
key is gone, and what is left on disk is unreadable noise. ``sweep_spools`` (run when a collector starts)
deletes the leftovers of dead processes; the file name carries the owner's pid for that (so collectors in
different pid namespaces, e.g. containers, must not share one temporary folder).

No Flask, no SQLAlchemy: bytes in, lines out.
"""

from __future__ import annotations

import os
import re
import struct
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from ..private_files import FILE_MODE

PREFIX = "ff-import-"
SUFFIX = ".spool"
FRAME_BYTES = 1 << 20
"""Plain bytes per encrypted frame (whole lines; a longer line makes a longer frame)."""
_NAME = re.compile(rf"^{re.escape(PREFIX)}(\d+)-[0-9a-z_]+{re.escape(SUFFIX)}$")
_HEAD = struct.Struct(">I12s")
"""Each frame: ciphertext length, nonce; then the ciphertext (plain text + 16-byte tag)."""


class EncryptedSpool:
    """A private (0600) temporary file of encrypted frames; ``write`` takes any chunks of the body,
    ``lines`` gives back its lines exactly as iterating the plain file would (``\\n`` ends kept)."""

    def __init__(self, folder: Path | None = None) -> None:
        fd, name = tempfile.mkstemp(prefix=f"{PREFIX}{os.getpid()}-", suffix=SUFFIX, dir=folder)
        os.fchmod(fd, FILE_MODE)
        self.path = Path(name)
        self._file = os.fdopen(fd, "wb")
        self._aead = AESGCM(AESGCM.generate_key(bit_length=256))
        self._frames = 0
        self._pending = bytearray()
        self.non_blank_lines = 0

    def __fspath__(self) -> str:
        return str(self.path)

    def write(self, chunk: bytes) -> None:
        """Append a chunk of the body; whole lines are encrypted and written once ~1 MiB has gathered."""
        self._pending += chunk
        if len(self._pending) >= FRAME_BYTES:
            end = self._pending.rfind(b"\n") + 1
            if end:
                self._frame(bytes(self._pending[:end]))
                del self._pending[:end]

    def close_writing(self) -> None:
        """Write what is left (a last line without ``\\n``) and close the file for writing."""
        if self._pending:
            self._frame(bytes(self._pending))
            self._pending.clear()
        self._file.close()

    def _frame(self, plain: bytes) -> None:
        self.non_blank_lines += sum(1 for line in plain.split(b"\n") if line.strip())
        nonce = self._frames.to_bytes(12, "big")  # unique per frame under this key: a counter
        self._frames += 1
        sealed = self._aead.encrypt(nonce, plain, None)
        self._file.write(_HEAD.pack(len(sealed), nonce))
        self._file.write(sealed)

    def lines(self) -> Iterator[bytes]:
        """The body's lines in order, decrypted a frame at a time."""
        with self.path.open("rb") as spool:
            while head := spool.read(_HEAD.size):
                size, nonce = _HEAD.unpack(head)
                plain = self._aead.decrypt(nonce, spool.read(size), None)
                parts = plain.split(b"\n")
                last = parts.pop()
                yield from (part + b"\n" for part in parts)
                if last:
                    yield last

    def delete(self) -> None:
        if not self._file.closed:
            self._file.close()
        self.path.unlink(missing_ok=True)


def spool_stream(chunks: Iterable[bytes], folder: Path | None = None) -> EncryptedSpool:
    """The chunks written to a new encrypted spool (deleted again if reading them fails)."""
    spool = EncryptedSpool(folder)
    try:
        for chunk in chunks:
            spool.write(chunk)
        spool.close_writing()
    except BaseException:
        spool.delete()
        raise
    return spool


def process_alive(pid: int) -> bool:
    """Whether a process with this pid runs on this host (a reused pid counts as alive: left for later)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: alive
        return True
    return True


def sweep_spools(folder: Path | None = None) -> list[Path]:
    """Delete the spools whose owning process has died (their key died with it); returns them. Spools of
    live processes, this one's included, are left alone."""
    folder = Path(folder or tempfile.gettempdir())
    removed = []
    for path in folder.glob(f"{PREFIX}*{SUFFIX}"):
        match = _NAME.match(path.name)
        if match and not process_alive(int(match.group(1))):
            path.unlink(missing_ok=True)
            removed.append(path)
    return removed
