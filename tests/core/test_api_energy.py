"""EcoLogits offline: the provider from the endpoint's host or from the model's name, its figures for a known
model (the same as EcoLogits' own high-level function gives), no number and the reason for an unknown one, the
size it gives, which sides get an estimate, and trials written before the field still loading."""

from __future__ import annotations

import dataclasses
import json

import pytest

from lmscales.core.api_energy import (
    ApiEnergy,
    api_model_size,
    estimate_api_energy,
    estimate_for_side,
    provider_for_host,
)
from lmscales.core.model_size import side_size
from lmscales.core.trial import Trial
from tests.support.trials import LARGE_INFO, SMALL_INFO, large_side, small_side, trial


@pytest.mark.parametrize(("host", "provider"), [
    ("api.openai.com", "openai"), ("api.anthropic.com", "anthropic"), ("api.mistral.ai", "mistralai"),
    ("generativelanguage.googleapis.com", "google_genai"), ("API.OpenAI.com:443", "openai"),
    ("openrouter.ai", None), ("127.0.0.1:8080", None), ("[::1]:8080", None), (None, None),
])
def test_the_provider_comes_from_the_endpoint_host(host: str | None, provider: str | None) -> None:
    assert provider_for_host(host) == provider


def test_where_the_host_says_nothing_the_model_name_is_looked_up_with_and_without_its_prefix() -> None:
    proxied = estimate_api_energy("openrouter.ai", "openai/gpt-4o-mini", 200, 2.0, "WOR")
    assert proxied.found_by == "the model name (openai's entry)" and proxied.size is not None
    assert proxied.size.name == "gpt-4o-mini"
    hub = estimate_api_energy("127.0.0.1:8000", "mistralai/Mixtral-8x7B-Instruct-v0.1", 200, 2.0, "WOR")
    assert hub.found_by == "the model name (huggingface_hub's entry)"  # its table names it with the prefix
    assert hub.label == ("estimated (EcoLogits 0.11.3, mistralai/Mixtral-8x7B-Instruct-v0.1 "
                         "≈ 13 B active of 47 B)")  # a mixture of experts: active and total
    direct = estimate_api_energy("api.openai.com", "gpt-4o-mini", 200, 2.0, "WOR")
    assert direct.found_by == "the host api.openai.com"


def test_the_figures_are_ecologits_own_for_gpt_4o_mini() -> None:
    from ecologits.tracers.utils import llm_impacts

    estimate = estimate_api_energy("api.openai.com", "gpt-4o-mini", 200, 2.0, "WOR")
    reference = llm_impacts("openai", "gpt-4o-mini", 200, 2.0, "WOR")
    assert reference.energy is not None and reference.gwp is not None
    energy, gwp = reference.energy.value, reference.gwp.value
    assert estimate.energy_low_j == pytest.approx(energy.min * 3.6e6)  # type: ignore[union-attr]
    assert estimate.energy_high_j == pytest.approx(energy.max * 3.6e6)  # type: ignore[union-attr]
    assert estimate.energy_j == pytest.approx((energy.min + energy.max) / 2 * 3.6e6)  # type: ignore[union-attr]
    assert estimate.gwp_low_kg == pytest.approx(gwp.min)  # type: ignore[union-attr]
    assert estimate.label == "estimated (EcoLogits 0.11.3, gpt-4o-mini ≈ 8–28 B parameters)"
    assert estimate.provenance == "EcoLogits 0.11.3 estimate"
    assert any("architecture has not been released" in warning for warning in estimate.warnings)
    # The zone changes the emissions, not the energy.
    french = estimate_api_energy("api.openai.com", "gpt-4o-mini", 200, 2.0, "FRA")
    assert french.energy_j == estimate.energy_j and french.gwp_kg is not None and estimate.gwp_kg is not None
    assert french.gwp_kg < estimate.gwp_kg


def test_a_model_it_does_not_know_gets_no_number_and_the_reason() -> None:
    unknown = estimate_api_energy("openrouter.ai", "acme/brand-new-model", 200, 2.0, "WOR")
    assert not unknown.known and unknown.energy_j is None and unknown.energy_low_j is None and unknown.size is None
    assert unknown.reason == unknown.label == "EcoLogits does not know acme/brand-new-model"
    wrong_provider = estimate_api_energy("api.openai.com", "claude-3-5-haiku-latest", 200, 2.0, "WOR")
    assert wrong_provider.reason == ("EcoLogits does not know claude-3-5-haiku-latest (looked up among openai's "
                                     "models, from the host api.openai.com)")


def test_the_size_of_each_side_and_where_it_comes_from() -> None:
    gguf = side_size(dataclasses.replace(SMALL_INFO, parameters="135M"))
    assert (gguf.text, gguf.source, gguf.label) == ("135M", "GGUF file", "135M parameters (GGUF file)")
    api = side_size(LARGE_INFO)
    assert api.label == "EcoLogits: ≈ 8–28 B parameters" and api.source == "EcoLogits 0.11.3"
    size = api_model_size(None, "gpt-4o")
    assert size is not None and size.mixture_of_experts and size.text == "≈ 44–132 B active of 440 B"
    assert side_size(dataclasses.replace(LARGE_INFO, model="my-own")).label == "unknown"
    assert side_size(SMALL_INFO).label == "unknown"  # a GGUF whose header gave no count
    assert side_size(None).label == "unknown"


def test_which_sides_get_an_estimate() -> None:
    done = large_side().finished
    assert done is not None
    remote = estimate_for_side(LARGE_INFO, done, None, "WOR")
    assert remote is not None and remote.known and remote.output_tokens == done.output_tokens
    assert estimate_for_side(SMALL_INFO, done, None, "WOR") is None  # a model on this CPU: never
    here = dataclasses.replace(LARGE_INFO, host="127.0.0.1:8080", loopback=True)
    assert estimate_for_side(here, done, 12.0, "WOR") is None  # a server here keeps its energy measured here
    unmeasured = estimate_for_side(here, done, None, "WOR")
    assert unmeasured is not None and unmeasured.known  # nothing measured here: the model it names
    replay = dataclasses.replace(LARGE_INFO, recorded=True)
    assert estimate_for_side(replay, done, None, "WOR") is None  # a replay carries the recorded one


def test_an_old_trial_line_without_the_field_still_loads_and_a_new_one_round_trips() -> None:
    old = trial(small_side(), large_side()).to_dict()
    for side in old["sides"].values():
        assert side.pop("api_energy") is None  # a line written before the field has no such key at all
    line = json.dumps(old)
    loaded = Trial.from_dict(json.loads(line))
    assert all(result.api_energy is None for result in loaded.sides)
    estimate = estimate_api_energy("api.openai.com", "gpt-4o-mini", 11, 0.9, "WOR")
    new = trial(small_side(), dataclasses.replace(large_side(), api_energy=estimate))
    again = Trial.from_dict(json.loads(json.dumps(new.to_dict())))
    assert again.side("large").api_energy == estimate  # type: ignore[union-attr]
    unknown = ApiEnergy(model="x", ecologits_version="0.11.3", zone="WOR", output_tokens=1, latency_s=0.1,
                        reason="EcoLogits does not know x")
    assert ApiEnergy.from_dict(json.loads(json.dumps(unknown.as_dict()))) == unknown
