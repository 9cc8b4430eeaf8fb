"""The log file, and the report a crash dialog shows.

`setup_logging` sends the root logger (ours and the libraries') to a rotating file in the platform's log
folder. A filter on that file redacts every record before it is written: registered secrets (each API key
`lmscales.core.secrets` sees, or anything passed to `register_secret`) and anything shaped like a key,
in the message, its arguments, the traceback and the stack.
"""

from __future__ import annotations

import logging
import logging.handlers
import os
import traceback
from pathlib import Path

import platformdirs

from lmscales.core.secrets import redact, register_secret

__all__ = [
    "LOG_DIR_ENV",
    "LOG_FILE",
    "RedactingFilter",
    "close_logging",
    "current_log_file",
    "format_exception_report",
    "log_dir",
    "register_secret",
    "setup_logging",
]

APP_NAME = "LM Scales"
LOG_DIR_ENV = "LMSCALES_LOG_DIR"
LOG_FILE = "lmscales.log"
MAX_BYTES = 1_000_000
BACKUP_COUNT = 5
_FORMAT = "%(asctime)s %(levelname)-7s %(name)s [%(threadName)s] %(message)s"

_handler: logging.Handler | None = None
_log_file: Path | None = None
_previous_root_level: int | None = None


class RedactingFilter(logging.Filter):
    """Rewrites each record with secrets removed; it never drops a record."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a bad format string must not hide the record, nor skip redaction
            message = f"{record.msg!r} {record.args!r}"
        record.msg = redact(message)
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = "".join(traceback.format_exception(*record.exc_info)).rstrip("\n")
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


def log_dir() -> Path:
    """$LMSCALES_LOG_DIR, or the platform's log folder for LM Scales."""
    override = os.environ.get(LOG_DIR_ENV)
    if override:
        return Path(override)
    return Path(platformdirs.user_log_dir(APP_NAME, appauthor=False))


def setup_logging(
    log_dir_path: Path | None = None,
    level: int = logging.INFO,
    max_bytes: int = MAX_BYTES,
    backup_count: int = BACKUP_COUNT,
) -> Path:
    """Log to a rotating, redacted file (replacing one an earlier call set up); returns the file's path."""
    global _handler, _log_file, _previous_root_level
    close_logging()
    directory = log_dir_path or log_dir()
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / LOG_FILE
    handler = logging.handlers.RotatingFileHandler(
        path, maxBytes=max_bytes, backupCount=backup_count, encoding="utf-8"
    )
    handler.setFormatter(logging.Formatter(_FORMAT))
    handler.addFilter(RedactingFilter())
    handler.setLevel(level)
    root = logging.getLogger()
    _previous_root_level = root.level
    if root.level == logging.NOTSET or root.level > level:
        root.setLevel(level)
    root.addHandler(handler)
    _handler, _log_file = handler, path
    return path


def close_logging() -> None:
    """Detach and close the file `setup_logging` opened, and restore the root level it changed."""
    global _handler, _log_file, _previous_root_level
    if _handler is not None:
        root = logging.getLogger()
        root.removeHandler(_handler)
        _handler.close()
        if _previous_root_level is not None:
            root.setLevel(_previous_root_level)
    _handler = _log_file = _previous_root_level = None


def current_log_file() -> Path | None:
    return _log_file


def format_exception_report(exc: BaseException, log_file: Path | None = None) -> str:
    """What went wrong and where the log is, for a crash dialog; secrets are redacted."""
    log_file = log_file or _log_file
    summary = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    lines = [
        "LM Scales ran into an unexpected error and could not finish what it was doing.",
        "",
        f"What happened: {summary}",
    ]
    frames = traceback.extract_tb(exc.__traceback__)
    if frames:
        last = frames[-1]
        lines.append(f"Where: {Path(last.filename).name}, line {last.lineno}, in {last.name}")
    lines.append("")
    if log_file is not None:
        lines.append(f"The full details are in the log file: {log_file}")
        lines.append("Please include that file if you report this problem.")
    else:
        lines.append("No log file is being written, so these lines are all there is.")
    return redact("\n".join(lines))
