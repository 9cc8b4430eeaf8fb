"""A data folder that is full or read-only, for the history file's tests.

Running as root (as CI on Linux does), `chmod` does not make a folder read-only and nothing fills a disk, so
the portable way is to make the system calls fail as a full disk or a read-only file system makes them fail:
`os.write` writes part of a line, then raises ENOSPC; `os.open` raises EROFS. Only calls on the one file are
changed, so the engine's pipes and the logs work as usual. Where the tests run as root on Linux and `mount`
works, `tmpfs` gives a real 64 KB file system, full or mounted read-only.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

__all__ = ["fill", "full_disk", "read_only", "tmpfs"]


def _is(path: Path, descriptor: int) -> bool:
    try:
        return os.path.samestat(os.fstat(descriptor), os.stat(path))
    except OSError:
        return False


def full_disk(monkeypatch: pytest.MonkeyPatch, path: Path, room: int = 100) -> list[int]:
    """Writes to `path` behave as on a disk with `room` bytes left: the first write stores at most that much and
    says so by its count, every later one raises ENOSPC. Returns the counts of the writes that took bytes."""
    real_write = os.write
    taken: list[int] = []
    left = [room]

    def write(descriptor: int, data: bytes) -> int:
        if not _is(path, descriptor):
            return real_write(descriptor, data)
        if left[0] <= 0:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        count = real_write(descriptor, bytes(data[: left[0]]))
        left[0] -= count
        taken.append(count)
        return count

    monkeypatch.setattr(os, "write", write)
    return taken


def read_only(monkeypatch: pytest.MonkeyPatch, path: Path) -> None:
    """Opening `path` for writing fails as on a read-only file system (EROFS)."""
    real_open = os.open

    def open_(file: str | os.PathLike[str], flags: int, *args: object, **kwargs: object) -> int:
        if os.path.abspath(os.fspath(file)) == os.path.abspath(path) and flags & (os.O_WRONLY | os.O_RDWR):
            raise OSError(errno.EROFS, os.strerror(errno.EROFS), os.fspath(file))
        return real_open(file, flags, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "open", open_)


@contextlib.contextmanager
def tmpfs(size: str = "64k", read_only: bool = False) -> Iterator[Path]:
    """A real, small tmpfs file system (Linux, as root, where `mount` works); the test is skipped elsewhere."""
    if not sys.platform.startswith("linux") or os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("a real tmpfs needs Linux, root and mount; the simulated full disk covers the rest")
    folder = Path(tempfile.mkdtemp(prefix="lmscales-tmpfs-"))
    options = f"size={size},mode=0755" + (",ro" if read_only else "")
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(folder)], capture_output=True,
                             text=True, check=False)
    if mounted.returncode != 0:
        folder.rmdir()
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip() or mounted.returncode}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", str(folder)], check=False)
        folder.rmdir()


def fill(folder: Path, leave: int = 0) -> Path:
    """Fill the file system of `folder` with a file of zeros, then give back `leave` bytes (tmpfs frees whole
    4 KiB pages). Returns the filler, so a test can delete it to make room."""
    filler = folder / "filler"
    block = b"\0" * 4096
    with open(filler, "wb", buffering=0) as handle, contextlib.suppress(OSError):
        while handle.write(block):
            pass
    if leave:
        with open(filler, "r+b") as handle:
            handle.truncate(max(0, filler.stat().st_size - leave))
    return filler
