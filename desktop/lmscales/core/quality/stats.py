"""Statistics a careful reader trusts, over repeated runs and over items.

- `describe`: median, p90, mean ± sd and n of one series (TTFT, decode rate, end-to-end time); outliers are
  flagged by the modified z-score (|z| > 3.5, Iglewicz and Hoaglin) and never dropped; a coefficient of
  variation over 10 % is flagged, as hyperfine and pyperf warn about unstable benchmarks.
- `paired_difference`: the mean of per-item differences between two sides, with a seeded percentile
  bootstrap 95 % interval over items (items are resampled, so each pair stays together).
- `wilson_interval` and `JudgeTally`: wins/ties/losses of the judge with Wilson score intervals, which stay
  inside [0, 1] and behave at 0 or n wins where the normal approximation does not.
- `per_hundred`: cost or energy per 100 items.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

MODIFIED_Z_LIMIT = 3.5
CV_LIMIT = 0.10
BOOTSTRAP_RESAMPLES = 10_000
DEFAULT_SEED = 20_261_128


@dataclass(frozen=True)
class SeriesSummary:
    n: int
    median: float
    p90: float
    mean: float
    sd: float  # sample standard deviation (n - 1); 0 for a single value
    cv: float | None  # sd / mean; None when the mean is 0
    outliers: tuple[int, ...]  # indices into the input, flagged by modified z-score, still counted
    unstable: bool  # cv over CV_LIMIT

    @property
    def mean_sd(self) -> str:
        return f"{self.mean:.3g} ± {self.sd:.2g}"


def modified_z_scores(values: Sequence[float]) -> list[float]:
    """0.6745 (x - median) / MAD; when the MAD is 0, (x - median) / (1.253314 × mean absolute deviation)."""
    data = np.asarray(values, dtype=float)
    if data.size == 0:
        return []
    median = float(np.median(data))
    deviations = np.abs(data - median)
    mad = float(np.median(deviations))
    if mad > 0:
        return [float(z) for z in 0.6745 * (data - median) / mad]
    mean_ad = float(np.mean(deviations))
    if mean_ad > 0:
        return [float(z) for z in (data - median) / (1.253314 * mean_ad)]
    return [0.0] * int(data.size)


def describe(values: Sequence[float]) -> SeriesSummary:
    """Summary of one series of measurements; raises ValueError on an empty one."""
    data = np.asarray(values, dtype=float)
    if data.size == 0:
        raise ValueError("no values to describe")
    if not np.all(np.isfinite(data)):
        raise ValueError("values must be finite numbers")
    mean = float(np.mean(data))
    sd = float(np.std(data, ddof=1)) if data.size > 1 else 0.0
    cv = sd / abs(mean) if mean != 0 else None
    outliers = tuple(i for i, z in enumerate(modified_z_scores(values)) if abs(z) > MODIFIED_Z_LIMIT)
    return SeriesSummary(
        n=int(data.size), median=float(np.median(data)), p90=float(np.percentile(data, 90)), mean=mean, sd=sd,
        cv=cv, outliers=outliers, unstable=cv is not None and cv > CV_LIMIT,
    )


@dataclass(frozen=True)
class PairedDifference:
    """mean(first - second) over items with a bootstrap interval; `n` counts the pairs where both sides scored."""

    n: int
    mean_first: float
    mean_second: float
    mean_difference: float
    low: float
    high: float
    confidence: float = 0.95
    resamples: int = BOOTSTRAP_RESAMPLES
    seed: int = DEFAULT_SEED

    @property
    def excludes_zero(self) -> bool:
        return self.low > 0 or self.high < 0


def paired_difference(
    first: Sequence[float | None],
    second: Sequence[float | None],
    *,
    confidence: float = 0.95,
    resamples: int = BOOTSTRAP_RESAMPLES,
    seed: int = DEFAULT_SEED,
) -> PairedDifference:
    """Paired difference first - second with a percentile bootstrap interval over items.

    Items missing a score on either side (None: the run failed) are left out of both means, so the sides are
    compared on the same items."""
    if len(first) != len(second):
        raise ValueError(f"paired scores need the same items on both sides ({len(first)} vs {len(second)})")
    pairs = [(a, b) for a, b in zip(first, second, strict=True) if a is not None and b is not None]
    if not pairs:
        raise ValueError("no item has a score on both sides")
    a = np.asarray([p[0] for p in pairs], dtype=float)
    b = np.asarray([p[1] for p in pairs], dtype=float)
    differences = a - b
    rng = np.random.default_rng(seed)
    indices = rng.integers(0, differences.size, size=(resamples, differences.size))
    means = differences[indices].mean(axis=1)
    tail = (1.0 - confidence) / 2.0 * 100.0
    low, high = np.percentile(means, [tail, 100.0 - tail])
    return PairedDifference(
        n=int(differences.size), mean_first=float(a.mean()), mean_second=float(b.mean()),
        mean_difference=float(differences.mean()), low=float(low), high=float(high), confidence=confidence,
        resamples=resamples, seed=seed,
    )


def wilson_interval(successes: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval for a proportion successes/n."""
    if n <= 0:
        raise ValueError("a proportion needs at least one trial")
    if not 0 <= successes <= n:
        raise ValueError("successes must be between 0 and n")
    z = _z_for(confidence)
    p = successes / n
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denominator
    # At 0 of n (n of n) the bound is exactly 0 (1); rounding would otherwise leave 5.6e-17 and print "0.0 %".
    low = 0.0 if successes == 0 else max(0.0, centre - half)
    high = 1.0 if successes == n else min(1.0, centre + half)
    return low, high


def _z_for(confidence: float) -> float:
    known = {0.90: 1.6448536269514722, 0.95: 1.959963984540054, 0.99: 2.5758293035489004}
    for level, z in known.items():
        if math.isclose(confidence, level):
            return z
    raise ValueError("confidence must be 0.90, 0.95 or 0.99")


@dataclass(frozen=True)
class JudgeTally:
    """Judge verdicts from one side's point of view: `wins` are items the judge preferred this side in both
    orders. Unparsed verdicts and judge errors are counted apart and are in no interval."""

    wins: int
    ties: int
    losses: int
    unparsed: int = 0

    @property
    def n(self) -> int:
        return self.wins + self.ties + self.losses

    def interval(self, outcome: str = "wins", confidence: float = 0.95) -> tuple[float, float]:
        count = {"wins": self.wins, "ties": self.ties, "losses": self.losses}[outcome]
        return wilson_interval(count, self.n, confidence)


def per_hundred(total: float, items: int) -> float:
    """A total over `items` items scaled to 100 items (cost, joules, CPU-seconds)."""
    if items <= 0:
        raise ValueError("per-100 figures need at least one item")
    return total * 100.0 / items
