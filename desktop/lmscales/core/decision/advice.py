"""Advice per task and per tag: "small is enough", "use large", or "not enough evidence yet", from the paired
difference of pass rates (small - large, Newcombe's 95 % interval [low, high], see `paired`) and the margin m
the user accepts to lose (`DecisionSettings.margin_points`).

The rule, in order:

1. Fewer than `min_items` items decided on both sides: not enough evidence, whatever the interval says.
2. low > 0 (the small side passes significantly more often): "small is enough".
3. high < 0 and low ≥ -m (the small side passes less often, and by no more than the margin anywhere in the
   interval): "small is enough"; the evidence says how much it loses.
4. high < 0 (and low < -m: the loss may exceed the margin): "use large".
5. Otherwise the interval includes zero: not enough evidence. No advice is ever given from an interval that
   includes zero, even when the whole interval lies above -m (which a non-inferiority test would accept); the
   evidence then says that the loss is within the margin so far, as a fact, not as advice.

"Not enough evidence" says about how many more items would tell: `paired.items_needed` (the observed table
scaled up with its proportions kept, to where the interval would exclude zero), or that no number would while the
sides pass and fail the same items. The advice is about quality only; money and energy are in the break-even.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from lmscales.core.decision import wording
from lmscales.core.decision.paired import (
    ESTIMATE_METHOD,
    MAX_ITEMS,
    PairedPassDifference,
    items_needed,
    paired_pass_difference,
)
from lmscales.core.decision.settings import DecisionSettings

SMALL_ENOUGH = "small_enough"
USE_LARGE = "use_large"
NOT_ENOUGH = "not_enough_evidence"
ROUTES = {SMALL_ENOUGH: "small", USE_LARGE: "large", NOT_ENOUGH: "undecided"}


@dataclass(frozen=True)
class Advice:
    scope: str  # "task" or the tag the advice is for
    kind: str  # SMALL_ENOUGH, USE_LARGE or NOT_ENOUGH
    headline: str  # "small is enough", "use large", "not enough evidence yet: about 40 more items would tell"
    evidence: str  # the numbers and the rule that led to it
    n_items: int  # items decided on both sides
    more_items: int | None  # for NOT_ENOUGH: about how many more items would tell; None when no number would
    difference: PairedPassDifference | None

    @property
    def route(self) -> str:
        return ROUTES[self.kind]


def _observed(d: PairedPassDifference) -> str:
    return (f"On {d.n} items decided on both sides the small model passes {wording.percent(d.small_rate)} and the "
            f"large one {wording.percent(d.large_rate)}: a difference of {wording.signed_points(d.difference)} "
            f"points (95 % CI {wording.points(d.low, d.high)}, Newcombe's interval for paired proportions)")


def _not_enough(scope: str, d: PairedPassDifference, why: str, settings: DecisionSettings) -> Advice:
    needed = items_needed(d)
    floor = settings.min_items - d.n if d.n < settings.min_items else 0
    if needed is None:
        more = floor or None
        estimate = ("the sides pass and fail the same items as often one way as the other, so more items tell only "
                    "if that changes" + (f"; at least {floor} more are needed before any advice" if floor else ""))
    elif needed > MAX_ITEMS:
        more = None
        estimate = f"at the observed rates more than {wording.count(MAX_ITEMS)} items would be needed"
    else:
        more = max(needed - d.n, floor, 1)
        estimate = f"estimated from {ESTIMATE_METHOD}; a rough guide, about an even chance"
    headline = ("not enough evidence yet: about " + wording.count(more) + " more items would tell" if more
                else "not enough evidence yet")
    return Advice(scope, NOT_ENOUGH, headline, f"{_observed(d)}. {why} About the items needed: {estimate}.",
                  d.n, more, d)


def advise(pairs: Sequence[tuple[bool, bool]], settings: DecisionSettings, scope: str = "task",
           missing_side: str | None = None) -> Advice:
    """The advice for these (small acceptable, large acceptable) pairs, by the rule in the module docstring.
    `missing_side` names a side that gave no decided answer at all (so nothing can be compared)."""
    d = paired_pass_difference(pairs)
    if d is None:
        why = (f"Only the {'large' if missing_side == 'small' else 'small'} side has answers the rule decided"
               if missing_side else "No item has answers the rule decided on both sides")
        return Advice(scope, NOT_ENOUGH, "not enough evidence yet", f"{why}, so there is nothing to compare.", 0,
                      None, None)
    margin = settings.margin_points / 100
    if d.n < settings.min_items:
        return _not_enough(scope, d, f"Advice needs at least {settings.min_items} items; there are {d.n}.", settings)
    if d.low > 0:
        return Advice(scope, SMALL_ENOUGH, "small is enough",
                      f"{_observed(d)}. The interval lies above zero: the small model passes more often.",
                      d.n, None, d)
    if d.high < 0 and d.low >= -margin:
        return Advice(scope, SMALL_ENOUGH, "small is enough",
                      f"{_observed(d)}. The small model passes less often, but the whole interval lies within the "
                      f"{settings.margin_points:g} points you accept to lose.", d.n, None, d)
    if d.high < 0:
        return Advice(scope, USE_LARGE, "use large",
                      f"{_observed(d)}. The interval lies below zero: the large model passes more often, and the "
                      f"loss may exceed the {settings.margin_points:g} points you accept.", d.n, None, d)
    within = (f" The loss is at most {-d.low * 100:.0f} points so far, within the {settings.margin_points:g} you "
              "accept, but that is no advice while the interval includes zero." if d.low >= -margin else "")
    return _not_enough(scope, d, f"The interval includes zero, so neither side is shown to pass more often.{within}",
                       settings)
