"""The large side's energy through the real comparison path: a Workspace, its Session and llama-cpp-python's real
server on loopback. A server that calls itself gpt-4o-mini, with no energy measured here (no resource monitor, as
on the command line), gets EcoLogits' estimate with its range and label; one whose model EcoLogits does not know
gets no number and the reason, and the card says "unknown"."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from lmscales.bench.servers import LlamaServer
from lmscales.core.card import card_rows, card_text
from lmscales.core.endpoints import Endpoint
from lmscales.core.engines.factory import EndpointSpec
from lmscales.core.history import TrialHistory
from lmscales.core.side_energy import energy_reading, per_100_wh, provenance_of, range_per_100_wh
from lmscales.core.trial import GenerationParams, TaskInput, Trial
from lmscales.core.workspace import Workspace
from tests.conftest import SERVER_MODEL

pytestmark = pytest.mark.slow

SHORT = GenerationParams(max_tokens=12, temperature=0.0, seed=1)
HELLO = TaskInput(task="chat", text="Say hello.")


@pytest.fixture(scope="module")
def gpt_4o_mini_server(bundled_model: Path) -> Iterator[str]:
    """The bundled model behind llama-cpp-python's server, answering to the name gpt-4o-mini."""
    with LlamaServer(bundled_model, alias="gpt-4o-mini") as server:
        yield server.base_url


def _run_large(base_url: str, model: str, tmp_path: Path, zone: str = "FRA") -> Trial:
    workspace = Workspace(history=TrialHistory.open(tmp_path / "history.jsonl"))
    workspace.set_electricity(zone, 0.30)
    try:
        workspace.set_slot("large", EndpointSpec(Endpoint(base_url=base_url, model=model)))
        return workspace.session.run(HELLO, SHORT, ("large",))
    finally:
        workspace.close()


def test_a_loopback_server_named_gpt_4o_mini_gets_ecologits_estimate_with_its_range_and_label(
        gpt_4o_mini_server: str, tmp_path: Path) -> None:
    trial = _run_large(gpt_4o_mini_server, "gpt-4o-mini", tmp_path)
    large = trial.side("large")
    assert large is not None and large.ok and large.resources is None  # nothing measured here
    estimate = large.api_energy
    assert estimate is not None and estimate.reason is None
    assert estimate.energy_low_j is not None and estimate.energy_high_j is not None and estimate.energy_j is not None
    assert 0 < estimate.energy_low_j < estimate.energy_j < estimate.energy_high_j
    assert estimate.label == "estimated (EcoLogits 0.11.3, gpt-4o-mini ≈ 8–28 B parameters)"
    assert estimate.found_by == "the model name (openai's entry)"  # 127.0.0.1 says nothing of a provider
    assert estimate.output_tokens == large.finished.output_tokens if large.finished else False
    assert estimate.zone == "FRA" and estimate.gwp_kg is not None and estimate.gwp_kg > 0

    # The card: a labelled estimate with its range, marked as estimated.
    energy = {row.key: row for row in card_rows(trial)}["energy"].values[0]
    assert energy.estimated and energy.value == estimate.energy_j
    assert energy.text.startswith("~") and "–" in energy.text and energy.note == estimate.label
    assert "[estimated (EcoLogits 0.11.3, gpt-4o-mini ≈ 8–28 B parameters)]" in card_text(trial)
    size = {row.key: row for row in card_rows(trial)}["size"].values[0]
    assert size.text == "≈ 8–28 B parameters (EcoLogits)" and size.note == "EcoLogits: ≈ 8–28 B parameters"

    # What an evaluation adds up, with its provenance and range.
    reading = energy_reading(large)
    assert reading is not None and reading.provenance == "EcoLogits 0.11.3 estimate"
    assert per_100_wh([reading]) == pytest.approx(estimate.energy_j * 100 / 3600)
    assert range_per_100_wh([reading]) == (pytest.approx(estimate.energy_low_j * 100 / 3600),
                                           pytest.approx(estimate.energy_high_j * 100 / 3600))
    assert provenance_of([reading]) == "EcoLogits 0.11.3 estimate"

    # Kept in the history and read back the same.
    line = (tmp_path / "history.jsonl").read_text(encoding="utf-8").splitlines()[-1]
    again = Trial.from_dict(json.loads(line)).side("large")
    assert again is not None and again.api_energy == estimate


def test_a_model_ecologits_does_not_know_gets_no_number_and_the_card_says_unknown(llama_server: str,
                                                                                  tmp_path: Path) -> None:
    trial = _run_large(llama_server, SERVER_MODEL, tmp_path)
    large = trial.side("large")
    assert large is not None and large.ok
    estimate = large.api_energy
    assert estimate is not None and estimate.energy_j is None and estimate.gwp_kg is None
    assert estimate.reason == f"EcoLogits does not know {SERVER_MODEL}"
    rows = {row.key: row for row in card_rows(trial)}
    energy = rows["energy"].values[0]
    assert energy.value is None and energy.text == "unknown" and energy.note == estimate.reason
    assert f"Energy: large unknown [EcoLogits does not know {SERVER_MODEL}]" in card_text(trial)
    assert rows["size"].values[0].text == "unknown"
    assert energy_reading(large) is None and per_100_wh([None]) is None


def test_a_server_on_this_computer_whose_energy_is_measured_here_keeps_that_figure(gpt_4o_mini_server: str,
                                                                                  tmp_path: Path) -> None:
    from lmscales.core.resource_monitor import ResourceMonitor

    monitor = ResourceMonitor(rate_hz=20.0, powercap_root=Path("/nonexistent-powercap"))  # the estimate, not RAPL
    workspace = Workspace(monitor=monitor)
    monitor.start()
    try:
        workspace.set_slot("large", EndpointSpec(Endpoint(base_url=gpt_4o_mini_server, model="gpt-4o-mini")))
        trial = workspace.session.run(TaskInput(task="chat", text="Write the numbers from one to forty in words."),
                                      GenerationParams(max_tokens=64, temperature=0.0, seed=1), ("large",))
    finally:
        monitor.stop()
        workspace.close()
    large = trial.side("large")
    assert large is not None and large.resources is not None and large.resources.energy.value is not None
    assert large.api_energy is None
    energy = {row.key: row for row in card_rows(trial)}["energy"].values[0]
    assert energy.value == large.resources.energy.value and energy.note.endswith("on this computer")
