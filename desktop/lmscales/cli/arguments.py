"""Command-line values checked where they are parsed (as argparse `type=` functions): a value out of range is a
usage message naming the option (exit status 2), never a late failure that blames something else, such as
llama.cpp's "may not support that model, or the file is damaged" for `--n-ctx -5`, or `--limit 0` quietly
running every item.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
from collections.abc import Callable

from lmscales.core.defaults import MAX_TEMPERATURE


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number, not {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def positive_seconds(text: str) -> float:
    """A duration in seconds, more than zero."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number of seconds, not {text!r}") from None
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"must be more than 0 seconds, not {text}")
    return value


def context_size(text: str) -> int:
    """A local context in the range the settings allow."""
    from lmscales.core.settings.schema import LocalEngineSettings  # only when the option is given

    rules = next(f.metadata for f in dataclasses.fields(LocalEngineSettings) if f.name == "n_ctx")
    low, high = int(rules["minimum"]), int(rules["maximum"])
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number of tokens, not {text!r}") from None
    if not low <= value <= high:
        raise argparse.ArgumentTypeError(f"the context must be between {low:,} and {high:,} tokens, not {value:,}")
    return value


def bounded_float(low: float, high: float) -> Callable[[str], float]:
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be a number, not {text!r}") from None
        if not math.isfinite(value) or not low <= value <= high:  # nan compares false both ways: refused too
            raise argparse.ArgumentTypeError(f"must be a number from {low:g} to {high:g}, not {text}")
        return value

    return parse


temperature_value = bounded_float(0.0, MAX_TEMPERATURE)
top_p_value = bounded_float(0.0, 1.0)


def _plain(value: float) -> str:
    """1,000,000,000 and 0.5, never 1e+09."""
    return f"{value:,.0f}" if value == int(value) else f"{value:g}"


def setting_value(section: str, name: str, whole: bool, unit: str = "") -> Callable[[str], float]:
    """A value for the setting `name` of the settings section `section` ("decision", "energy"), in the range the
    settings allow, so the command line and Settings accept the same values. `whole`: a whole number."""
    suffix = f" {unit}" if unit else ""

    def parse(text: str) -> float:
        from lmscales.core.settings.schema import Settings  # only when the option is given

        section_class = next(f.default_factory for f in dataclasses.fields(Settings) if f.name == section)
        rules = next(f.metadata for f in dataclasses.fields(section_class) if f.name == name)  # type: ignore[arg-type]
        low, high = rules["minimum"], rules["maximum"]
        try:
            value: float = int(text) if whole else float(text)
        except ValueError:
            kind = "a whole number" if whole else "a number"
            raise argparse.ArgumentTypeError(f"must be {kind}{f' of {unit}' if unit else ''}, not {text!r}") from None
        if not math.isfinite(value) or not low <= value <= high:  # nan compares false both ways: refused too
            raise argparse.ArgumentTypeError(f"must be from {_plain(low)} to {_plain(high)}{suffix}, not {text}")
        return value

    return parse
