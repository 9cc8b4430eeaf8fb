"""What the user decides before the evidence is read: the acceptability thresholds, the monthly volume, the
electricity price, a hardware cost, the quality margin they accept and the fewest items advice may rest on.

The defaults and why:

- chrF++ ≥ 50 for a translation. chrF++ is a 0-100 character n-gram F-score against one reference. On the
  built-in set, the reference with two words swapped or one dropped scores 71-100, and its first half alone
  35-57 (median 48); 50 lies between them, above a half translation's median. A correct translation worded very
  differently from the reference can score under 50 too (chrF++ reads characters, not meaning): the threshold is
  a choice, printed in the definition and changeable.
- ≥ 50 % of key facts for a summary: at least half of what the item's author marked as essential.
- ROUGE-L ≥ 30 (chrF ≥ 40 for a summary not in English), only for a summary item without key facts: a third of
  the reference's longest common word sequence, a low bar, used only where an item has no key facts.
- A margin of 5 percentage points: how much lower a pass rate the user accepts from the small side (one
  acceptable answer in 20); see `advice` for how it is used, never to advise from an interval that includes 0.
- At least 10 items decided on both sides before any advice.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class DecisionSettings:
    translation_chrf_min: float = 50.0  # chrF++ points
    summary_key_facts_min: float = 50.0  # per cent of the item's key facts
    summary_rouge_l_min: float = 30.0  # ROUGE-L points, items without key facts (English)
    summary_chrf_min: float = 40.0  # chrF points, items without key facts (other languages)
    volume_per_month: int = 10_000  # answers a month
    electricity_price_per_kwh: float | None = None  # in `currency`; None: not set, so the local side's money is unknown
    currency: str = "USD"  # of the electricity price and the hardware cost; API prices must be in it too
    hardware_cost: float = 0.0  # what the user pays for the machine that runs the small side
    hardware_months: int = 36  # the months the hardware cost is spread over
    margin_points: float = 5.0  # percentage points of pass rate the user accepts to lose
    min_items: int = 10  # items decided on both sides before any advice

    def __post_init__(self) -> None:
        for name in ("translation_chrf_min", "summary_key_facts_min", "summary_rouge_l_min", "summary_chrf_min"):
            value = getattr(self, name)
            if not 0 <= value <= 100:
                raise ValueError(f"{name.replace('_', ' ')} must be between 0 and 100 (got {value:g})")
        if self.volume_per_month < 0:
            raise ValueError("the monthly volume must not be negative")
        if self.electricity_price_per_kwh is not None and self.electricity_price_per_kwh < 0:
            raise ValueError("the electricity price must not be negative")
        if self.hardware_cost < 0:
            raise ValueError("the hardware cost must not be negative")
        if self.hardware_months < 1:
            raise ValueError("the hardware cost must be spread over at least one month")
        if not 0 <= self.margin_points < 100:
            raise ValueError("the margin must be between 0 and 100 percentage points")
        if self.min_items < 1:
            raise ValueError("advice needs at least one item")
