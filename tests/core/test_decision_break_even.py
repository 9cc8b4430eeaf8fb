"""Break-even and per-acceptable-answer arithmetic on hand-computed cases: a hardware cost paid back from a
volume, both sides free, no electricity price, an unknown price or energy; and each figure's provenance."""

from __future__ import annotations

import json

import pytest

from lmscales.core.decision import DecisionSettings, decide, decision_json
from lmscales.core.quality.results import SideCost
from tests.support.decision_items import chat_items, task

# 10 items: the small side finds 5 expected answers, the large one 8
PAIRS = [(True, True)] * 5 + [(False, True)] * 3 + [(False, False)] * 2
PRICED = DecisionSettings(volume_per_month=10_000, electricity_price_per_kwh=0.30, hardware_cost=720,
                          hardware_months=36)


def priced_task(small: SideCost, large: SideCost):  # type: ignore[no-untyped-def]
    return task("translate", [], {"small": small, "large": large})


def chat_task(small: SideCost, large: SideCost):  # type: ignore[no-untyped-def]
    return task("chat", chat_items(PAIRS), {"small": small, "large": large},
                end_to_end={"small": (1.0, 3.0), "large": (0.5, 1.5)})


def test_a_hardware_cost_is_paid_back_from_a_volume() -> None:
    """By hand, per answer: small 3.0 Wh/100 = 0.03 Wh -> at 10,000 a month 0.3 kWh × $0.30 = $0.09, plus
    $720 / 36 = $20 of hardware: $20.09. Large $0.50/100 = $0.005 -> $50, and 1.0 Wh/100 -> 0.1 kWh.
    Saved: $29.91; energy: 0.2 kWh more. Lines cross where 20 = V × (0.005 - 0.000009): V = 4,007.2."""
    be = decide(priced_task(SideCost(0.0, 3.0, 50.0), SideCost(0.50, 1.0, None, energy_provenance="EcoLogits test")),
                PRICED).break_even
    assert be.small.money == pytest.approx(20.09) and be.small.fixed_money == pytest.approx(20.0)
    assert be.large.money == pytest.approx(50.0) and be.large.fixed_money == 0
    assert be.money_saved == pytest.approx(29.91)
    assert (be.small.energy_kwh, be.large.energy_kwh) == pytest.approx((0.3, 0.1))
    assert be.energy_saved_kwh == pytest.approx(-0.2)
    assert be.crossover == "from" and be.crossover_volume == pytest.approx(20 / 0.004991)
    assert be.large.energy_provenance == "EcoLogits test"
    assert be.sentence == ("At 10,000 translations a month, the small model saves $29.91, uses 0.2 kWh more, and "
                           "cannot be compared on quality (no item was decided on both sides). It is cheaper from "
                           "about 4,008 translations a month.")


def test_without_hardware_a_cheaper_answer_is_cheaper_at_any_volume() -> None:
    be = decide(priced_task(SideCost(0.0, 3.0, 50.0), SideCost(0.50, 1.0, None)),
                DecisionSettings(volume_per_month=200, electricity_price_per_kwh=0.30)).break_even
    assert be.small.money == pytest.approx(200 * 0.03 / 1000 * 0.30) and be.large.money == pytest.approx(1.0)
    assert be.crossover == "always" and be.crossover_volume is None
    assert "It is cheaper at any volume." in be.sentence


def test_zero_money_on_both_sides_costs_the_same_when_electricity_is_free() -> None:
    be = decide(priced_task(SideCost(0.0, 3.0, 50.0), SideCost(0.0, None, None)),
                DecisionSettings(electricity_price_per_kwh=0.0)).break_even
    assert be.small.money == 0 and be.large.money == 0 and be.money_saved == 0
    assert be.crossover == "same"
    assert "costs the same ($0)" in be.sentence
    assert "Neither side is cheaper at any volume." in be.sentence
    assert be.energy_saved_kwh is None
    assert "uses energy that cannot be compared (no energy figure for the large side)" in be.sentence


def test_two_free_servers_on_this_computer_differ_by_their_electricity() -> None:
    """Both sides here, neither paid per token: 2 Wh/100 against 6 Wh/100 at 10,000 a month and $0.30/kWh is
    0.2 kWh = $0.06 against 0.6 kWh = $0.18."""
    be = decide(priced_task(SideCost(0.0, 2.0, 10.0), SideCost(0.0, 6.0, 30.0)),
                DecisionSettings(electricity_price_per_kwh=0.30),
                on_this_computer={"small": True, "large": True}).break_even
    assert (be.small.money, be.large.money) == pytest.approx((0.06, 0.18))
    assert be.money_saved == pytest.approx(0.12) and be.energy_saved_kwh == pytest.approx(0.4)
    assert be.crossover == "always"
    assert "the small model saves $0.12 and 0.4 kWh and cannot be compared on quality" in be.sentence


def test_with_no_electricity_price_the_money_is_unknown_never_guessed() -> None:
    be = decide(priced_task(SideCost(0.0, 3.0, 50.0), SideCost(0.50, 1.0, None)), DecisionSettings()).break_even
    assert be.small.money is None and be.small.money_reason == "no electricity price is set"
    assert be.large.money == pytest.approx(50.0)  # what is known is still shown
    assert be.money_saved is None and be.crossover == "unknown" and be.crossover_volume is None
    assert "costs an unknown amount (no electricity price is set)" in be.sentence
    assert be.sentence.endswith("Which side is cheaper is unknown: no electricity price is set.")


def test_an_unknown_price_energy_or_currency_makes_the_money_unknown() -> None:
    no_price = decide(priced_task(SideCost(0.0, 3.0, 1.0), SideCost(None, 1.0, None)), PRICED).break_even
    assert no_price.crossover == "unknown"
    assert no_price.large.money_reason == "the large side's price per answer is unknown"
    no_energy = decide(priced_task(SideCost(0.0, None, 1.0), SideCost(0.5, 1.0, None)), PRICED).break_even
    assert no_energy.small.money_reason == "the small side runs on this computer and its energy is unknown"
    euros = decide(priced_task(SideCost(0.0, 3.0, 1.0), SideCost(0.5, 1.0, None, currency="EUR")), PRICED).break_even
    assert euros.large.money_reason == "the large side's price is in EUR, the electricity price in USD"


def test_the_small_side_that_costs_more_per_answer_is_never_cheaper() -> None:
    be = decide(priced_task(SideCost(0.0, 3000.0, 50.0), SideCost(0.01, 1.0, None)),
                DecisionSettings(electricity_price_per_kwh=0.30)).break_even
    # 30 Wh × $0.30/kWh = $0.009 per answer against $0.0001: at 10,000 a month $90 against $1
    assert be.crossover == "never" and be.crossover_reason == "the small side costs more per answer"
    assert be.money_saved == pytest.approx(1.0 - 90.0)
    assert "costs $89.00 more" in be.sentence and "It is cheaper at no volume." in be.sentence


def test_the_quality_cost_at_that_point_is_in_the_sentence() -> None:
    be = decide(chat_task(SideCost(0.0, 3.0, 50.0), SideCost(0.50, 1.0, None)), PRICED).break_even
    assert be.pass_difference is not None and be.pass_difference.difference == pytest.approx(-0.3)
    assert be.score_difference is not None and be.score_difference.name == "answer"
    d = be.pass_difference
    assert (f"passes 50 % instead of 80 % of them (difference −30 points, 95 % CI "
            f"{d.low * 100:+.0f} to {d.high * 100:+.0f}".replace("-", "−")) in be.sentence
    assert "; answer difference −30.0 points (95 % CI " in be.sentence


def test_per_acceptable_answer_divides_by_the_pass_rate_and_keeps_provenance() -> None:
    large_cost = SideCost(0.50, 1.0, None, energy_provenance="EcoLogits 0.11.3 estimate",
                          energy_wh_per_100_low=0.4, energy_wh_per_100_high=2.0)
    decision = decide(chat_task(SideCost(0.0, 3.0, 50.0, cost_provenance="measured",
                                         energy_provenance="measured"), large_cost), PRICED)
    small, large = decision.per_acceptable_answer["small"], decision.per_acceptable_answer["large"]
    assert small.pass_rate == 0.5 and large.pass_rate == 0.8
    assert small.money.per_acceptable == 0 and small.money.provenance == "measured"
    assert small.energy.per_answer == pytest.approx(0.03) and small.energy.per_acceptable == pytest.approx(0.06)
    assert small.cpu_time.per_acceptable == pytest.approx(1.0) and small.time.per_acceptable == pytest.approx(4.0)
    assert large.money.per_acceptable == pytest.approx(0.00625) and large.money.unit == "USD"
    assert large.energy.provenance == "EcoLogits 0.11.3 estimate"
    assert large.energy.per_acceptable_range == pytest.approx((0.004 / 0.8, 0.02 / 0.8))
    assert large.time.per_acceptable == pytest.approx(1.25)
    assert large.cpu_time.per_acceptable is None and "no CPU time" in (large.cpu_time.reason or "")


def test_no_acceptable_answer_means_no_figure_per_acceptable_answer_with_the_reason() -> None:
    decision = decide(task("chat", chat_items([(False, True)] * 4), {"small": SideCost(0.0, 3.0, 50.0),
                                                                     "large": SideCost(0.5, None, None)}), PRICED)
    small = decision.per_acceptable_answer["small"]
    assert small.energy.per_answer == pytest.approx(0.03) and small.energy.per_acceptable is None
    assert small.energy.reason == "no acceptable answer (0 of 4)"
    assert decision.per_acceptable_answer["large"].energy.reason == "no energy figure for this side"


def test_the_json_form_holds_every_part() -> None:
    decision = decide(chat_task(SideCost(0.0, 3.0, 50.0), SideCost(0.50, 1.0, None)), PRICED)
    data = json.loads(json.dumps(decision_json(decision)))
    assert set(data) >= {"per_acceptable_answer", "acceptable", "break_even", "advice", "disagreements"}
    assert data["acceptable"]["small"]["wilson_95"] == pytest.approx([decision.acceptable.small.low,
                                                                       decision.acceptable.small.high])
    assert data["acceptable"]["definition"].startswith("A chat answer is acceptable when")
    assert data["break_even"]["crossover"] == "from" and data["break_even"]["sentence"] == decision.break_even.sentence
    assert data["advice"]["kind"] == "not_enough_evidence" and data["advice"]["evidence"]
    assert data["per_acceptable_answer"]["large"]["money"]["per_acceptable"] == pytest.approx(0.00625)
    assert len(data["disagreements"]) == 3 and data["disagreements"][0]["passed"] == "large"
