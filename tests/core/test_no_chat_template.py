"""A GGUF without a chat template (issue 26): the real engine prompts it as ChatML, says so as data (the loaded
model's facts, `EngineInfo`, each trial's side), and ends the answer where such a model writes a ChatML marker.

The models are copies of the bundled one with header bytes renamed (`tests/support/gguf_copies.py`): without
its template key, and, to play a model that does not know ChatML (a base model, another family's), without
its ChatML markers too. That second copy writes the markers out as text and runs on, as the issue saw."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from lmscales.core.engines.local import LocalEngine
from lmscales.core.engines.local_worker import CHATML_STOPS
from lmscales.core.session import Session
from lmscales.core.trial import GenerationParams, TaskInput, Trial
from tests.conftest import TEST_THREADS
from tests.support.gguf_copies import copy_without_chat_template

pytestmark = pytest.mark.slow
PARAMS = GenerationParams(max_tokens=60, temperature=0.0, seed=1)
QUESTION = TaskInput(task="chat", text="What is the capital of France?")


@pytest.fixture(scope="module")
def copies(bundled_model: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("no-template")
    return {
        "knows_chatml": copy_without_chat_template(bundled_model, folder / "no-template.gguf"),
        "base_like": copy_without_chat_template(bundled_model, folder / "no-chatml.gguf", knows_chatml=False),
    }


@pytest.fixture(scope="module")
def engine() -> Iterator[LocalEngine]:
    local = LocalEngine(n_ctx=2048, n_threads=TEST_THREADS)
    yield local
    local.close()


def test_the_bundled_model_has_a_chat_template(engine: LocalEngine, bundled_model: Path) -> None:
    model = engine.load(bundled_model)
    assert model.info.has_chat_template
    assert engine.info is not None and engine.info.has_chat_template


def test_a_model_without_a_chat_template_says_so_in_its_facts_and_its_trial(
    engine: LocalEngine, copies: dict[str, Path]
) -> None:
    model = engine.load(copies["knows_chatml"])
    assert not model.info.has_chat_template
    assert engine.info is not None and not engine.info.has_chat_template
    trial = Session({"small": engine}).run(QUESTION, PARAMS, ("small",))
    side = trial.side("small")
    assert side is not None and side.ok, side
    assert side.without_chat_template
    assert "Paris" in side.text
    assert not any(marker in side.text for marker in CHATML_STOPS)
    # The note is typed data in the trial's one schema, and survives the history file's round trip.
    stored = json.loads(json.dumps(trial.to_dict()))
    assert stored["sides"]["small"]["engine"]["has_chat_template"] is False
    again = Trial.from_dict(stored).side("small")
    assert again is not None and again.without_chat_template


def test_a_model_that_does_not_know_chatml_stops_where_it_writes_the_end_marker(
    engine: LocalEngine, copies: dict[str, Path]
) -> None:
    engine.load(copies["base_like"])
    trial = Session({"small": engine}).run(QUESTION, PARAMS, ("small",))
    side = trial.side("small")
    assert side is not None and side.ok and side.finished is not None, side
    assert "Paris" in side.text
    assert not any(marker in side.text for marker in CHATML_STOPS), side.text  # it wrote one: the answer ends there
    assert side.finished.stop_reason == "stop"
    assert side.finished.output_tokens < PARAMS.max_tokens
    assert side.without_chat_template


def test_a_trial_written_before_the_field_loads_as_prompted_with_a_template(
    engine: LocalEngine, copies: dict[str, Path]
) -> None:
    engine.load(copies["knows_chatml"])
    trial = Session({"small": engine}).run(QUESTION, GenerationParams(max_tokens=4, temperature=0.0), ("small",))
    old_line = json.loads(json.dumps(trial.to_dict()))
    del old_line["sides"]["small"]["engine"]["has_chat_template"]  # what history lines of older versions hold
    side = Trial.from_dict(old_line).side("small")
    assert side is not None and side.engine is not None
    assert side.engine.has_chat_template and not side.without_chat_template
