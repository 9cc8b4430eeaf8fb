"""What every command shares: how a failure ends (a one-line message and an exit status), notes on stderr,
JSON on stdout, and output that any text can go through."""

from __future__ import annotations

import contextlib
import json
import sys
from importlib import resources
from typing import Any

EXIT_USAGE = 2
EXIT_FAILED = 1

# `--side` (run) and `--sides` (eval): the slots each choice runs; local/remote are the old names.
SIDE_ALIASES: dict[str, tuple[str, ...]] = {
    "local": ("small",), "remote": ("large",), "small": ("small",), "large": ("large",), "both": ("small", "large"),
}


class CliError(Exception):
    """A failure to report in one line and exit with `code`."""

    def __init__(self, message: str, code: int = EXIT_FAILED) -> None:
        super().__init__(message)
        self.code = code


def say(message: str) -> None:
    """A note for the person at the terminal, on stderr (stdout may be JSON for a script)."""
    print(message, file=sys.stderr)


def print_json(data: object) -> None:
    print(json.dumps(data, indent=2, ensure_ascii=False))


def sample_text(name: str) -> str:
    return resources.files("lmscales.resources").joinpath("samples").joinpath(name).read_text(encoding="utf-8")


def make_output_safe(stdout: Any = None, stderr: Any = None) -> None:  # any stream: reconfigured when it can be
    """Output that any text can go through. Redirected to a file on Windows, standard output is cp1252,
    where Japanese or Chinese answers raise UnicodeEncodeError: redirected output is written as UTF-8;
    a console that is not UTF-8 gets replacement characters instead of a crash."""
    for stream, is_stdout in ((stdout or sys.stdout, True), (stderr or sys.stderr, False)):
        encoding = (getattr(stream, "encoding", None) or "").lower().replace("-", "").replace("_", "")
        if encoding in {"utf8", "utf8sig"} or not hasattr(stream, "reconfigure"):
            continue
        try:
            interactive = stream.isatty()
        except (OSError, ValueError):
            interactive = False
        with contextlib.suppress(OSError, ValueError):  # a closed or unusual stream: leave it as it is
            if is_stdout and not interactive:
                stream.reconfigure(encoding="utf-8", errors="replace")
            else:
                stream.reconfigure(errors="replace")
