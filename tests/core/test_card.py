"""The result card's rows, from hand-made trials with known figures: ratios, estimates, missing figures."""

from __future__ import annotations

from lmscales.core.api_energy import ApiEnergy, ApiModelSize
from lmscales.core.card import card_rows, card_text, format_energy
from tests.support.trials import LARGE_INFO, failed_large, large_side, resources, small_side, trial


def rows(*sides):  # type: ignore[no-untyped-def]
    return {row.key: row for row in card_rows(trial(*sides))}


def test_ratios_name_the_better_side_in_words() -> None:
    card = rows(small_side(ttft=0.1), large_side(ttft=0.41))
    assert card["ttft"].verdict == "small: 4.1× faster to first token"
    assert card["ttft"].better == "small" and round(card["ttft"].ratio, 2) == 4.1
    # small: last delta at 0.1 + 10 × 0.1 = 1.1 s; large: 0.41 + 10 × 0.05 = 0.91 s
    assert card["e2e"].verdict == "large: 1.2× faster end to end"
    # decode rate: 10 tokens over 1.0 s against 10 over 0.5 s
    assert card["rate"].verdict == "large: 2.0× more tokens per second"
    assert [v.text for v in card["rate"].values] == ["10.0 tok/s", "20.0 tok/s"]


def test_money_is_set_against_money_plus_energy() -> None:
    card = rows(small_side(energy_j=1080.0), large_side(usd=0.0004))
    money = card["money"]
    assert money.verdict == "small: $0 + ~0.30 Wh, large: $0.0004"
    assert money.better == "small"
    # An API's energy is spent on its provider's machines, not none: with no estimate it is unknown, never 0.
    assert [v.text for v in card["energy"].values] == ["~0.30 Wh", "unknown"]


def test_the_winner_is_marked_on_its_value_not_by_colour() -> None:
    card = rows(small_side(ttft=0.1), large_side(ttft=0.41))
    small, large = card["ttft"].values
    assert small.better and not large.better


def test_estimated_figures_and_ratios_carry_a_tilde() -> None:
    card = rows(small_side(), large_side(provenance="estimated", usd=0.0004))
    rate_small, rate_large = card["rate"].values
    assert rate_large.estimated and rate_large.text == "~20.0 tok/s" and rate_small.text == "10.0 tok/s"
    assert card["rate"].verdict == "large: ~2.0× more tokens per second"
    assert card["money"].values[1].text == "~$0.0004"
    # TTFT is timed, not counted: no tilde even when the server sent no token counts
    assert "~" not in card["ttft"].verdict


def test_a_missing_figure_claims_no_ratio() -> None:
    card = rows(small_side(), failed_large())
    for key in ("ttft", "e2e", "rate", "network", "money"):
        assert card[key].ratio is None and card[key].better is None, key
        assert card[key].verdict == "no comparison: Large has no figure", key
        assert card[key].values[1].text == "–"
    unpriced = rows(small_side(), large_side(usd=None))
    assert unpriced["money"].values[1].text == "–"
    assert "no figure" in unpriced["money"].verdict


def test_zero_against_something_says_none_instead_of_a_ratio() -> None:
    card = rows(small_side(), large_side(bytes_received=3200))
    network = card["network"]
    assert [v.text for v in network.values] == ["0 B", "3.2 KB"]
    assert network.verdict == "small: none" and network.better == "small" and network.ratio is None


def test_close_figures_read_about_the_same() -> None:
    card = rows(small_side(ttft=0.40), large_side(ttft=0.41))
    assert card["ttft"].verdict.startswith("about the same") and card["ttft"].better is None


def test_one_side_alone_has_no_comparison() -> None:
    card = rows(small_side())
    assert card["ttft"].verdict == "only one side ran"
    assert card["ttft"].values[0].text == "0.10 s"


def test_card_text_reads_as_a_summary() -> None:
    text = card_text(trial())
    assert text.splitlines()[0].startswith("Chat · “What is the capital of France?”")
    assert "Time to first token: small 0.10 s, large 0.41 s — small: 4.1× faster to first token" in text


def test_energy_reads_in_joules_then_watt_hours() -> None:
    assert format_energy(0.5) == "0.50 J" and format_energy(20) == "20.0 J" and format_energy(1080) == "0.30 Wh"


def test_a_server_on_this_computer_costs_no_money_and_its_cpu_is_not_claimed_to_be_zero() -> None:
    import dataclasses

    from tests.support.trials import LARGE_INFO

    here = dataclasses.replace(LARGE_INFO, host="127.0.0.1:8080", endpoint_name="llama.cpp server", loopback=True)
    card = rows(small_side(), dataclasses.replace(large_side(usd=None), engine=here))
    assert card["money"].values[1].text == "$0"  # no price per token on one's own computer
    assert card["money"].verdict == "small: $0 + ~0.30 Wh, large: $0" and card["money"].better is None
    assert card["cpu"].values[1].text == "–" and card["energy"].values[1].text == "–"  # not measured: no claim
    assert card["cpu"].ratio is None
    measured_here = dataclasses.replace(large_side(usd=0.0), engine=here, resources=resources(66.8))
    assert rows(small_side(), measured_here)["money"].verdict == "small: $0 + ~0.30 Wh, large: $0 + ~66.8 J"
    elsewhere = rows(small_side(), large_side())
    assert elsewhere["cpu"].values[1].text == "0.00 CPU-s"  # an API beyond this computer spends none of its CPU


def test_quality_rows_appear_where_the_trial_has_checks_and_scores() -> None:
    import dataclasses

    from lmscales.core.quality.checks import Check
    from lmscales.core.quality.scores import Score

    assert "checks" not in rows(small_side(), large_side())  # no quality line where there is none
    small = dataclasses.replace(small_side(), checks=(Check("language", False, None, ""),
                                                      Check("not a copy", True, None, ""),
                                                      Check("length", None, None, "")),
                                scores=(Score("chrF++", 41.5, "sig"),))
    large = dataclasses.replace(large_side(), checks=(Check("language", True, None, ""),
                                                      Check("not a copy", True, None, "")),
                                scores=(Score("chrF++", 63.0, "sig"),))
    card = rows(small, large)
    assert [v.text for v in card["checks"].values] == ["1 of 2", "2 of 2"]  # "cannot tell" is not counted
    assert card["checks"].better == "large"
    assert card["checks"].verdict == "small: 1 of 2 passed, large: 2 of 2 passed"
    score = card["score:chrF++"]
    assert score.title == "chrF++ against the reference"
    assert score.verdict == "large: 21.5 points higher" and score.better == "large"


def _estimated(energy_j: float | None, low: float | None = None, high: float | None = None,
               reason: str | None = None) -> ApiEnergy:
    size = None if reason else ApiModelSize("openai", "gpt-4o-mini", 8, 28, 8, 28)
    return ApiEnergy(model="gpt-4o-mini", ecologits_version="0.11.3", zone="WOR", output_tokens=11, latency_s=0.9,
                     energy_j=energy_j, energy_low_j=low, energy_high_j=high, size=size, reason=reason)


def test_the_energy_row_has_both_sides_the_large_one_as_ecologits_labelled_range() -> None:
    import dataclasses

    large = dataclasses.replace(large_side(), api_energy=_estimated(49.5, 44.6, 54.4))
    card = rows(small_side(energy_j=1080.0), large)
    energy = card["energy"]
    assert energy.title == "Energy"
    small_value, large_value = energy.values
    assert (small_value.text, small_value.note) == ("~0.30 Wh", "estimated on this computer")
    assert large_value.text == "~49.5 J (44.6–54.4 J, EcoLogits)" and large_value.estimated
    assert large_value.note == "estimated (EcoLogits 0.11.3, gpt-4o-mini ≈ 8–28 B parameters)"
    assert energy.verdict == "large: ~22× less energy" and energy.better == "large"
    text = card_text(trial(small_side(energy_j=1080.0), large))
    assert ("Energy: small ~0.30 Wh [estimated on this computer], large ~49.5 J (44.6–54.4 J, EcoLogits) "
            "[estimated (EcoLogits 0.11.3, gpt-4o-mini ≈ 8–28 B parameters)] — large: ~22× less energy") in text


def test_a_figure_inside_the_estimate_range_names_no_winner() -> None:
    import dataclasses

    large = dataclasses.replace(large_side(), api_energy=_estimated(49.5, 44.6, 54.4))
    energy = rows(small_side(energy_j=47.0), large)["energy"]
    assert energy.verdict == "no clear difference: within EcoLogits' range"
    assert energy.better is None and energy.ratio is None


def test_a_model_ecologits_does_not_know_reads_unknown_with_the_reason_never_a_number() -> None:
    import dataclasses

    large = dataclasses.replace(large_side(), api_energy=_estimated(None, reason="EcoLogits does not know my-model"))
    energy = rows(small_side(), large)["energy"]
    assert energy.values[1].value is None and energy.values[1].text == "unknown"
    assert energy.values[1].note == "EcoLogits does not know my-model"
    assert energy.verdict == "no comparison: the energy of Large is unknown" and energy.better is None
    assert "large unknown [EcoLogits does not know my-model]" in card_text(trial(small_side(), large))


def test_the_size_row_names_each_side_s_parameters_and_where_they_come_from() -> None:
    import dataclasses

    from tests.support.trials import SMALL_INFO

    small = dataclasses.replace(small_side(), engine=dataclasses.replace(SMALL_INFO, parameters="135M"))
    large = dataclasses.replace(large_side(), api_energy=_estimated(49.5, 44.6, 54.4))
    size = rows(small, large)["size"]
    assert size.title == "Model size"
    assert [v.text for v in size.values] == ["135M", "≈ 8–28 B parameters (EcoLogits)"]
    assert size.verdict == "small: 135M parameters (GGUF file); large: EcoLogits: ≈ 8–28 B parameters"
    assert size.better is None
    # No estimate on the trial: EcoLogits' table is looked up by host and name (gpt-4o-mini behind OpenAI).
    assert rows(small_side(), large_side())["size"].values[1].text == "≈ 8–28 B parameters (EcoLogits)"
    unknown = dataclasses.replace(large_side(), engine=dataclasses.replace(LARGE_INFO, model="my-own-model"))
    size = rows(small, unknown)["size"]
    assert size.values[1].text == "unknown"
    assert size.verdict == "no comparison: the size of Large is unknown"
