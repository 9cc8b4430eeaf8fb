"""The result card's energy row shows both sides: the small model's energy on this computer and, for a model
behind an API, EcoLogits' estimate (real EcoLogits, offline) with its range and source written on the bar and its
label in the tooltip, or "unknown" with the reason, never a number. (The whole path, a real comparison in a real
window, is photographed by tests/support/card_energy_screens.py for docs/window-card-energy.png.)"""

from __future__ import annotations

import dataclasses

from lmscales.core.api_energy import estimate_api_energy
from lmscales.ui.result_card import PairBar, ResultCard
from tests.support.trials import large_side, small_side, trial


def _energy_bars(qtbot, large_model: str) -> tuple[ResultCard, dict[str, PairBar]]:  # type: ignore[no-untyped-def]
    estimate = estimate_api_energy("api.openai.com", large_model, output_tokens=11, latency_s=0.96, zone="WOR")
    card = ResultCard()
    qtbot.addWidget(card)
    card.show_trial(trial(small_side(energy_j=5.9), dataclasses.replace(large_side(), api_energy=estimate)))
    card.resize(1200, 420)
    card.show()
    row = next(index + 1 for index, card_row in enumerate(card.rows) if card_row.key == "energy")
    bars = [card.grid.itemAtPosition(row, column).widget() for column in (1, 2)]
    return card, {bar.value.side: bar for bar in bars if isinstance(bar, PairBar)}


def test_the_energy_row_shows_this_computer_s_figure_beside_ecologits_estimate_named_on_the_bar(qtbot) -> None:  # type: ignore[no-untyped-def]
    card, bars = _energy_bars(qtbot, "gpt-4o-mini")
    small, large = bars["small"], bars["large"]
    assert small.text().endswith("~5.9 J") and "estimated on this computer" in small.toolTip()
    # The estimate's range and its source are read on the bar itself, as the size row's "(EcoLogits)" is.
    assert large.text().lstrip("✓ ").startswith("~") and large.text().endswith(" J, EcoLogits)"), large.text()
    assert "–" in large.text()  # the range EcoLogits gives
    assert "estimated (EcoLogits 0.11.3, gpt-4o-mini ≈ 8–28 B parameters)" in large.toolTip()
    assert "unknown" not in card.verdicts()["energy"]


def test_a_model_ecologits_does_not_know_reads_unknown_on_the_bar(qtbot) -> None:  # type: ignore[no-untyped-def]
    card, bars = _energy_bars(qtbot, "my-own-model")
    assert bars["small"].text() == "~5.9 J"
    large = bars["large"]
    assert large.value.value is None and large.text() == "unknown"
    assert "EcoLogits does not know my-own-model" in large.toolTip()
    assert card.verdicts()["energy"] == "no comparison: the energy of Large is unknown"
