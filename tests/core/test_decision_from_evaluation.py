"""The decision from a real evaluation: the bundled model on this CPU against llama-cpp-python's server on
loopback, over the translation smoke set. Evaluation keeps each side's checks by name and the items' tags; the
decision reads them, withholds advice from six items, puts electricity on both sides (both run here), and its
JSON form holds every part."""

from __future__ import annotations

import json

import pytest

from lmscales.core.decision import (
    NOT_ENOUGH,
    DecisionSettings,
    decide_all,
    decision_json,
    filter_disagreements,
    item_verdict,
    runs_on_this_computer,
)
from lmscales.core.endpoints import Endpoint
from lmscales.core.engines.local import LocalEngine
from lmscales.core.engines.remote import RemoteEngine, RemoteOptions
from lmscales.core.evaluation import EvalPlan, Evaluation
from lmscales.core.quality.sets import load_set
from lmscales.core.session import Session
from lmscales.core.trial import GenerationParams
from tests.conftest import SERVER_MODEL

pytestmark = pytest.mark.slow


def test_a_real_evaluation_carries_checks_and_tags_and_decides_without_overclaiming(
        engine: LocalEngine, llama_server: str) -> None:
    remote = RemoteEngine(Endpoint(llama_server, SERVER_MODEL), RemoteOptions(context_tokens=2048))
    session = Session({"small": engine, "large": remote}, is_offline=lambda: False)
    smoke = load_set("translate", smoke=True)
    plan = EvalPlan(smoke, params=GenerationParams(max_tokens=40, temperature=0.0, seed=1), warmups=0)
    result = Evaluation(session, plan).run()
    translate = result.tasks[0]

    tags = {item.id: item.tags for item in smoke.items}
    for entry in translate.items:
        assert entry.tags == tags[entry.item_id] and entry.tags  # every smoke item is tagged
        for side in entry.outputs:
            # the checks an answer got, by name, as evaluation kept them
            assert {"language", "copy"} <= set(entry.checks[side]) or entry.checks[side] == {"empty": False}

    settings = DecisionSettings(volume_per_month=1_000, electricity_price_per_kwh=0.25)
    assert all(runs_on_this_computer(side) for side in result.sides)  # a local model and a loopback server
    (decision,) = decide_all(result, settings)
    advice = decision.advice
    assert advice.kind == NOT_ENOUGH and 0 < advice.n_items <= len(smoke.items) < settings.min_items
    assert f"Advice needs at least 10 items; there are {advice.n_items}." in advice.evidence
    assert advice.more_items is not None and advice.more_items >= settings.min_items - advice.n_items
    # both sides run on this computer: each pays its own electricity, and no side pays for hardware
    assert decision.break_even.large.on_this_computer and decision.break_even.large.fixed_money == 0
    counted = decision.acceptable.small.decided + decision.acceptable.small.undecided + \
        decision.acceptable.small.unanswered
    assert counted == len(translate.items)

    # each disagreement is an item the rule judged differently for the two sides, with the failed side's reasons
    for disagreement in decision.disagreements:
        entry = next(i for i in translate.items if i.item_id == disagreement.item_id)
        failed = item_verdict("translate", entry, disagreement.failed, settings)
        assert failed.acceptable is False and disagreement.reasons == failed.reasons
        assert item_verdict("translate", entry, disagreement.passed, settings).acceptable is True
    assert filter_disagreements(decision.disagreements, task="summarize") == ()
    assert filter_disagreements(decision.disagreements, tag="everyday") == tuple(
        d for d in decision.disagreements if "everyday" in d.tags)

    data = json.loads(json.dumps(decision_json(decision)))
    assert data["acceptable"]["definition"].startswith("A translation is acceptable when")
    assert data["advice"]["kind"] == "not_enough_evidence" and data["break_even"]["volume_per_month"] == 1_000
    assert {"small", "large"} <= set(data["per_acceptable_answer"])
