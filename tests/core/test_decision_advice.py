"""Advice only where the evidence supports it: never from an interval that includes zero, never from too few
items; the paired interval it rests on (checked against a published example); how many more items would tell;
and the routing table per tag."""

from __future__ import annotations

import pytest

from lmscales.core.decision import (
    NOT_ENOUGH,
    SMALL_ENOUGH,
    USE_LARGE,
    DecisionSettings,
    advise,
    decide,
    items_needed,
    paired_pass_difference,
)
from tests.support.decision_items import chat_items, found, item, table, task

DEFAULTS = DecisionSettings()


def test_the_paired_interval_is_newcombes_as_published() -> None:
    """Fagerland, Lydersen & Laake (Statistical Analysis of Contingency Tables, ch. 8), Cavo et al. 2012:
    59 both, 6 first only, 16 second only, 80 neither -> -0.0621 (95 % CI -0.1186 to -0.0046)."""
    d = paired_pass_difference(table(59, 6, 16, 80))
    assert d is not None
    assert (d.difference, d.low, d.high) == pytest.approx((-0.0621, -0.1186, -0.0046), abs=5e-5)
    assert (d.n, d.small_rate, d.large_rate) == (161, 65 / 161, 75 / 161)


def test_no_advice_from_an_interval_that_includes_zero() -> None:
    pairs = table(10, 3, 5, 2)  # 20 items: the large side passes 2 more, well within the noise
    d = paired_pass_difference(pairs)
    assert d is not None and d.low < 0 < d.high
    advice = advise(pairs, DEFAULTS)
    assert advice.kind == NOT_ENOUGH and advice.route == "undecided"
    assert "The interval includes zero" in advice.evidence
    assert advice.more_items is not None and advice.headline == (
        f"not enough evidence yet: about {advice.more_items} more items would tell")
    assert "scaled up with its proportions kept" in advice.evidence  # says how it was estimated


def test_no_advice_from_too_few_items_even_when_the_interval_excludes_zero() -> None:
    pairs = table(0, 0, 6, 0)  # the large side passes all 6, the small side none
    d = paired_pass_difference(pairs)
    assert d is not None and d.high < 0  # the interval alone would say "use large"
    advice = advise(pairs, DEFAULTS)
    assert advice.kind == NOT_ENOUGH and "Advice needs at least 10 items; there are 6." in advice.evidence
    assert advice.more_items == 4  # the floor of 10, since 6 items already exclude zero
    assert advise(pairs, DecisionSettings(min_items=5)).kind == USE_LARGE


def test_use_large_when_the_interval_lies_below_zero_beyond_the_margin() -> None:
    advice = advise(table(2, 0, 18, 0), DEFAULTS)
    assert advice.kind == USE_LARGE and advice.headline == "use large" and advice.route == "large"
    assert "passes 10 % and the large one 100 %" in advice.evidence and "lies below zero" in advice.evidence


def test_small_is_enough_when_it_passes_significantly_more_often() -> None:
    advice = advise(table(5, 15, 0, 0), DEFAULTS)
    assert advice.kind == SMALL_ENOUGH and advice.route == "small" and "lies above zero" in advice.evidence


def test_small_is_enough_when_its_loss_is_shown_and_within_the_margin_and_not_otherwise() -> None:
    pairs = table(1800, 0, 60, 140)  # 3 points less often, on 2,000 items: -3.9 to -2.3
    d = paired_pass_difference(pairs)
    assert d is not None and -0.05 < d.low < d.high < 0
    within = advise(pairs, DEFAULTS)
    assert within.kind == SMALL_ENOUGH and "within the 5 points you accept to lose" in within.evidence
    assert advise(pairs, DecisionSettings(margin_points=2)).kind == USE_LARGE


def test_a_loss_within_the_margin_is_stated_but_not_advised_while_the_interval_includes_zero() -> None:
    advice = advise(table(1900, 10, 12, 78), DEFAULTS)
    assert advice.kind == NOT_ENOUGH
    assert "within the 5 you accept, but that is no advice while the interval includes zero" in advice.evidence


def test_the_items_needed_are_where_the_scaled_table_would_exclude_zero() -> None:
    observed = paired_pass_difference(table(10, 2, 6, 2))
    assert observed is not None and not observed.excludes_zero
    needed = items_needed(observed)
    assert needed is not None and needed > observed.n
    scale = needed / observed.n
    at_needed = paired_pass_difference(table(*(round(count * scale) for count in (10, 2, 6, 2))))
    assert at_needed is not None and at_needed.excludes_zero
    assert advise(table(10, 2, 6, 2), DEFAULTS).more_items == needed - observed.n


def test_no_number_of_items_tells_when_the_sides_disagree_equally_often() -> None:
    pairs = table(8, 3, 3, 6)
    assert items_needed(paired_pass_difference(pairs)) is None  # type: ignore[arg-type]
    advice = advise(pairs, DEFAULTS)
    assert advice.more_items is None and advice.headline == "not enough evidence yet"
    assert "as often one way as the other" in advice.evidence


def test_with_one_side_only_there_is_nothing_to_compare() -> None:
    only_small = task("chat", [item(f"c{i}", found(True), None) for i in range(12)])
    advice = decide(only_small, DEFAULTS).advice
    assert advice.kind == NOT_ENOUGH and advice.difference is None
    assert advice.evidence == "Only the small side has answers the rule decided, so there is nothing to compare."


def test_routing_per_tag_sends_each_tag_where_its_evidence_points() -> None:
    items = (chat_items([(False, True)] * 12, ["technical"], "t")  # the large side gets them all
             + chat_items([(True, False)] * 10 + [(True, True)] * 2, ["everyday"], "e")  # the small side does
             + chat_items([(False, True)] * 3, ["news"], "n")  # too few to tell
             + chat_items([(True, True)], ["everyday", "news"], "both"))  # counts for each of its tags
    decision = decide(task("chat", items), DEFAULTS)
    routes = {row.tag: (row.route, row.advice.n_items) for row in decision.routing}
    assert routes == {"technical": ("large", 12), "everyday": ("small", 13), "news": ("undecided", 4)}
    assert decision.routing_sentence == (
        "technical → large, everyday → small, news → undecided (about 6 more items would tell)")
    assert {row.advice.scope for row in decision.routing} == {"technical", "everyday", "news"}


def test_a_set_without_tags_has_no_routing_table() -> None:
    decision = decide(task("chat", chat_items([(True, True)] * 3)), DEFAULTS)
    assert decision.routing == () and decision.routing_sentence is None
