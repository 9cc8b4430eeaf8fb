"""Tests only: Hypothesis settings shared by the fuzz tests, and a tally of how many cases each one tried.

The counts are printed at the end of each fuzz test (`pytest -s` or `-rA` shows them) and appended to the
file named by LMSCALES_FUZZ_TALLY, if set, for the record."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, settings

# Sized so that all fuzz tests together add well under a minute on a loaded 2-core machine. No deadline:
# a loaded machine makes single cases slow, which is not what these tests look for. No example database:
# nothing is written into the checkout.
FUZZ = settings(
    max_examples=int(os.environ.get("LMSCALES_FUZZ_EXAMPLES", "150")),
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


class Tally:
    """Counts the cases a fuzz test ran, and what they ended in."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.outcomes: dict[str, int] = {}

    def __call__(self, outcome: str) -> None:
        self.outcomes[outcome] = self.outcomes.get(outcome, 0) + 1

    @property
    def cases(self) -> int:
        return sum(self.outcomes.values())

    def report(self) -> str:
        detail = ", ".join(f"{kind} {count}" for kind, count in sorted(self.outcomes.items()))
        line = f"fuzz {self.name}: {self.cases} cases ({detail})"
        print(line)
        record = os.environ.get("LMSCALES_FUZZ_TALLY")
        if record:
            with Path(record).open("a", encoding="utf-8") as out:
                out.write(line + "\n")
        return line


def run_fuzz(name: str, body: Callable[[Tally], Any]) -> Tally:
    """Run a Hypothesis test `body(tally)` and print how many cases it tried."""
    tally = Tally(name)
    body(tally)
    tally.report()
    return tally
