"""JSON from files the app finds on disk (the history, recordings), read with limits a damaged or hostile file
cannot get past: no integer with more digits than any real figure, no nesting deep enough to exhaust the
interpreter's stack, and (for files written with `allow_nan=False`) no number that is not finite.

Python's own `json.loads` turns `1e400` into infinity (which the app could never write back: it writes with
`allow_nan=False`), raises a bare `ValueError` about `sys.set_int_max_str_digits` for a 5,000-digit integer
(Python 3.11 on; older versions read it), and a `RecursionError` for thousands of nested brackets. Here each is
a `JsonLimitError` whose message is for the user.
"""

from __future__ import annotations

import json
import math
from typing import Any

# The longest integer any of our files holds is a 64-bit seed or a byte count (20 digits); 40 leaves room.
MAX_INT_DIGITS = 40


class JsonLimitError(ValueError):
    """JSON that is well formed but beyond what the app reads; the message says what, for the user."""


def _shown(text: str) -> str:
    return text if len(text) <= 24 else f"{text[:12]}…({len(text)} characters)"


def _integer(text: str) -> int:
    digits = len(text.lstrip("-"))
    if digits > MAX_INT_DIGITS:
        raise JsonLimitError(f"holds a {digits}-digit number, too long to be a real figure")
    return int(text)


def _real(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise JsonLimitError(f"holds a number out of range ({_shown(text)})")
    return value


def _constant(name: str) -> Any:
    raise JsonLimitError(f"holds {name}, which is not a number JSON allows")


def loads(text: str | bytes, finite: bool = True) -> Any:
    """`json.loads` with the limits above: `json.JSONDecodeError` for text that is not JSON, `JsonLimitError`
    for JSON beyond the limits. `finite=False` reads NaN, Infinity and numbers beyond a float's range as
    Python does (for files written without `allow_nan=False`, such as recordings: a missing sample is NaN)."""
    limits: dict[str, Any] = {"parse_float": _real, "parse_constant": _constant} if finite else {}
    try:
        return json.loads(text, parse_int=_integer, **limits)
    except RecursionError:
        raise JsonLimitError("is nested too deeply to read") from None
