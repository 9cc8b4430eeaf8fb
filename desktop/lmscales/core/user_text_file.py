"""Reading a text file a user opened or dropped: UTF-8 text or a clear refusal, never a traceback."""

from __future__ import annotations

from pathlib import Path

from lmscales.core.tasks import TaskInputError

TEXT_SUFFIXES = {".txt", ".md", ".markdown", ".text", ""}
MAX_FILE_BYTES = 5_000_000


def read_text_file(path: str | Path, max_bytes: int = MAX_FILE_BYTES) -> str:
    file = Path(path)
    try:
        size = file.stat().st_size
    except FileNotFoundError:
        raise TaskInputError(f"File not found: {file}") from None
    except OSError as error:
        raise TaskInputError(f"Cannot open {file.name}: {error.strerror}") from None
    if file.is_dir():
        raise TaskInputError(f"{file.name} is a folder: open a .txt or .md file.")
    if size > max_bytes:
        raise TaskInputError(
            f"{file.name} is {size / 1e6:.1f} MB; the limit is {max_bytes / 1e6:.0f} MB of text. Open a smaller file."
        )
    try:
        data = file.read_bytes()
    except OSError as error:
        raise TaskInputError(f"Cannot read {file.name}: {error.strerror}") from None
    if b"\0" in data[:8192]:
        raise TaskInputError(f"{file.name} is a binary file, not text. Open a .txt or .md file.")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise TaskInputError(
            f"{file.name} is not UTF-8 text (byte {error.start} cannot be decoded). Save it as UTF-8 and open it again."
        ) from None
    if not text.strip():
        raise TaskInputError(f"{file.name} is empty.")
    return text
