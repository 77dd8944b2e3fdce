"""Files that may hold personal data (the collector's SQLite database, export NDJSON, spools) are created
private: folders 0700, files 0600, whatever the process umask. No Flask, no SQLAlchemy."""

from __future__ import annotations

import os
from pathlib import Path
from typing import IO

FILE_MODE = 0o600
FOLDER_MODE = 0o700


def private_folder(folder: Path) -> Path:
    """Create ``folder`` (and missing parents) 0700; a folder that already exists keeps its mode (it is the
    operator's), but what is created in it here is still private."""
    missing = []
    current = folder
    while not current.exists():
        missing.append(current)
        current = current.parent
    folder.mkdir(parents=True, exist_ok=True)
    for created in missing:
        os.chmod(created, FOLDER_MODE)
    return folder


def touch_private(path: Path) -> Path:
    """Create ``path`` empty and 0600 unless it exists."""
    private_folder(path.parent)
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE))
        os.chmod(path, FILE_MODE)  # O_CREAT's mode is narrowed by the umask, never widened: set it exactly
    except FileExistsError:
        pass
    return path


def open_private(path: Path) -> IO[str]:
    """``path`` opened for writing UTF-8 text (``\\n`` line ends), truncated, 0600 even when it existed."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
    os.fchmod(descriptor, FILE_MODE)
    return os.fdopen(descriptor, "w", encoding="utf-8", newline="\n")
