"""Appending one line to a JSON Lines file whole or not at all (the history, an evaluation's journal can share it)."""

from __future__ import annotations

import contextlib
import errno
import os
from pathlib import Path


def append_line(path: Path, line: str) -> None:
    """Append `line` whole, or leave the file as it was and raise `OSError`. `os.write` may write only part
    (a disk that fills up mid-line): the rest is written after it, and a write or flush that fails cuts the
    file back to its old length, so the next load finds no half line."""
    path.parent.mkdir(parents=True, exist_ok=True)
    data = (line + "\n").encode("utf-8")
    flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND | getattr(os, "O_BINARY", 0)
    descriptor = os.open(path, flags, 0o600)
    try:
        size = os.fstat(descriptor).st_size
        if size:
            # A line cut short by a crash must not swallow this one: start on a fresh line.
            with open(path, "rb") as handle:
                handle.seek(size - 1)
                if handle.read(1) != b"\n":
                    data = b"\n" + data
        written = 0
        try:
            while written < len(data):
                count = os.write(descriptor, data[written:])
                if count <= 0:  # nothing written and no error: the device takes no more
                    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
                written += count
            os.fsync(descriptor)
        except OSError:
            # Cut our part back off, unless another process appended after it (its line must not go with ours;
            # the loader then skips our cut line with a note).
            with contextlib.suppress(OSError):
                if os.fstat(descriptor).st_size == size + written:
                    os.ftruncate(descriptor, size)
            raise
    finally:
        os.close(descriptor)
