"""The difference of two pass rates measured on the same items, with its 95 % interval, and a rough estimate of
how many items would make that interval exclude zero.

The interval is Newcombe's square-and-add interval for paired proportions (Newcombe 1998, Statistics in Medicine
17:2635-2650, method 10): each side's Wilson interval, combined with the correlation of the pairs (phi, with the
paper's correction). It stays inside [-1, 1], behaves at 0 % and 100 % where the Wald interval does not, and,
unlike a bootstrap over three items, does not claim a difference from a handful of discordant pairs. Checked
against Fagerland, Lydersen and Laake's published example (tests/core/test_decision_paired.py).

The estimate of items needed scales the observed 2×2 table to a larger number of items, keeping its proportions,
and finds the smallest number at which this interval would exclude zero. It is a guide, not a promise: at that
size a fresh sample with the same true rates excludes zero about half the time.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from lmscales.core.quality.stats import wilson_interval

METHOD = "Newcombe (1998) square-and-add interval for paired proportions (method 10), 95 %"
ESTIMATE_METHOD = ("the observed table scaled up with its proportions kept, to the smallest number of items at "
                   "which the 95 % interval would exclude zero")
MAX_ITEMS = 100_000  # beyond this an estimate says "more than" rather than a number no set will reach


@dataclass(frozen=True)
class PairedPassDifference:
    """small pass rate - large pass rate (0-1 scale) over the `n` items both sides' answers were decided on."""

    n: int
    both: int  # items both sides passed
    small_only: int
    large_only: int
    neither: int
    small_rate: float
    large_rate: float
    difference: float
    low: float
    high: float
    method: str = METHOD

    @property
    def excludes_zero(self) -> bool:
        return self.low > 0 or self.high < 0


def _newcombe(both: int, first_only: int, second_only: int, neither: int) -> tuple[float, float, float]:
    n = both + first_only + second_only + neither
    p1, p2 = (both + first_only) / n, (both + second_only) / n
    l1, u1 = wilson_interval(both + first_only, n)
    l2, u2 = wilson_interval(both + second_only, n)
    marginals = (both + first_only) * (second_only + neither) * (both + second_only) * (first_only + neither)
    phi = 0.0
    if marginals > 0:
        cross = both * neither - first_only * second_only
        # Newcombe's correction: a small positive association is taken as none (phi* in the paper)
        phi = (cross - n / 2) / math.sqrt(marginals) if cross > n / 2 else min(cross, 0) / math.sqrt(marginals)
    difference = p1 - p2
    low = difference - math.sqrt(max(0.0, (p1 - l1) ** 2 - 2 * phi * (p1 - l1) * (u2 - p2) + (u2 - p2) ** 2))
    high = difference + math.sqrt(max(0.0, (p2 - l2) ** 2 - 2 * phi * (p2 - l2) * (u1 - p1) + (u1 - p1) ** 2))
    return difference, max(-1.0, low), min(1.0, high)


def paired_pass_difference(pairs: Sequence[tuple[bool, bool]]) -> PairedPassDifference | None:
    """From (small acceptable, large acceptable) per item; None without any pair."""
    if not pairs:
        return None
    both = sum(1 for small, large in pairs if small and large)
    small_only = sum(1 for small, large in pairs if small and not large)
    large_only = sum(1 for small, large in pairs if large and not small)
    neither = len(pairs) - both - small_only - large_only
    difference, low, high = _newcombe(both, small_only, large_only, neither)
    n = len(pairs)
    return PairedPassDifference(n, both, small_only, large_only, neither, (both + small_only) / n,
                                (both + large_only) / n, difference, low, high)


def items_needed(observed: PairedPassDifference) -> int | None:
    """The number of items at which the interval would exclude zero if the table kept its proportions; None when
    no number would (the sides disagree on no item, or as often one way as the other). At most MAX_ITEMS + 1,
    which means "more than MAX_ITEMS"."""
    if observed.small_only == observed.large_only:
        return None
    if observed.excludes_zero:
        return observed.n
    shares = [count / observed.n for count in (observed.both, observed.small_only, observed.large_only)]

    def excludes_at(n: int) -> bool:
        both, small_only, large_only = (round(share * n) for share in shares)
        neither = max(0, n - both - small_only - large_only)
        _, low, high = _newcombe(both, small_only, large_only, neither)
        return low > 0 or high < 0

    # grow until it excludes zero, then halve the gap; the rounding of counts makes it not quite monotonic, so
    # the answer is "about" this many
    low, high = observed.n, observed.n * 2
    while not excludes_at(high):
        if high > MAX_ITEMS:
            return MAX_ITEMS + 1
        low, high = high, high * 2
    while high - low > 1:
        middle = (low + high) // 2
        low, high = (low, middle) if excludes_at(middle) else (middle, high)
    return high
