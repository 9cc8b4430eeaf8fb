"""Blind votes as data: the seeded order, the vote in the trial and its schema, an old line without one, the
history keeping a vote cast after the trial, and tallies with Wilson intervals computed by hand."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from lmscales.core.blind_votes import BlindVotes
from lmscales.core.history import TrialHistory, read_trials, to_json, to_markdown
from lmscales.core.recording import Collector
from lmscales.core.trial import Trial
from lmscales.core.votes import BlindOrder, Vote, VoteFormatError, choice_for_key, tally_votes, total_tally
from tests.support.trials import large_side, small_side, trial


def test_the_order_follows_the_seed_and_differs_across_seeds() -> None:
    orders = {seed: BlindOrder.draw(seed) for seed in range(40)}
    assert all(BlindOrder.draw(seed) == order for seed, order in orders.items())  # drawn again: the same
    assert {order.a for order in orders.values()} == {"small", "large"}
    assert all({order.a, order.b} == {"small", "large"} for order in orders.values())


def test_a_vote_names_the_winning_side_through_the_order() -> None:
    order = BlindOrder(7, a="large", b="small")
    assert Vote("A", order).winner == "large" and Vote("B", order).winner == "small"
    assert Vote("A", order).outcome_for("small") == "loss" and Vote("B", order).outcome_for("small") == "win"
    assert Vote("tie", order).winner is None and Vote("both_bad", order).outcome_for("small") == "both_bad"
    assert [choice_for_key(key) for key in "1234"] == ["A", "B", "tie", "both_bad"]
    assert choice_for_key("5") is None and choice_for_key("q") is None
    with pytest.raises(VoteFormatError):
        Vote("C", order)  # type: ignore[arg-type]


def blind_trial(choice: str | None, order: BlindOrder, trial_id: str = "a1b2c3d4e5f6", task: str = "chat") -> Trial:
    base = dataclasses.replace(trial(small_side(), large_side(), task=task), id=trial_id, blind=order)
    return dataclasses.replace(base, vote=Vote(choice, order, "human", "2026-11-28T18:01:00+00:00")) if choice else base  # type: ignore[arg-type]


def test_the_vote_round_trips_through_the_trial_schema() -> None:
    voted = blind_trial("B", BlindOrder(11, "large", "small"))
    data = json.loads(json.dumps(voted.to_dict()))
    assert data["vote"] == {"choice": "B", "winner": "small", "a": "large", "b": "small", "seed": 11,
                            "voter": "human", "voted_at": "2026-11-28T18:01:00+00:00"}
    assert data["blind"] == {"seed": 11, "a": "large", "b": "small"}
    back = Trial.from_dict(data)
    assert (back.blind, back.vote) == (voted.blind, voted.vote)


def test_an_old_line_without_blind_or_vote_loads() -> None:
    data = trial(small_side(), large_side()).to_dict()
    del data["blind"], data["vote"]
    old = Trial.from_dict(data)
    assert old.blind is None and old.vote is None


def test_a_vote_cast_after_the_trial_replaces_it_in_the_history_and_the_recording(tmp_path: Path) -> None:
    path = tmp_path / "history.jsonl"
    history, recorder = TrialHistory(path), Collector()
    keeper = BlindVotes(history, recorder)
    order = BlindOrder.draw(3)
    keeper.expect(order)
    kept = keeper.stamp(trial(small_side(), large_side()))
    assert kept.blind == order and kept.vote is None
    assert keeper.stamp(trial(small_side(), large_side())).blind is None  # only the next trial
    history.append(kept)
    recorder.add_trial(kept)
    voted, problem = keeper.cast(kept, "A")
    assert problem is None and voted.vote is not None and voted.vote.winner == order.a
    assert history.list() == (voted,) and recorder.trials == [voted]
    assert len(path.read_text().splitlines()) == 2  # the unvoted line stays: never lost
    loaded, notes = read_trials(path.read_bytes())
    assert [(t.id, t.vote) for t in loaded] == [(voted.id, voted.vote)] and notes == []
    assert json.loads(to_json(loaded))["trials"][0]["vote"]["winner"] == order.a
    names = {"small": "Small (SmolLM2-135M-Instruct)", "large": "Large (gpt-4o-mini)"}
    assert f"A was {names[order.a]}, B was {names[order.b]}. You preferred A: {names[order.a]}." in to_markdown(loaded)


def test_tallies_per_task_and_model_pair_with_wilson_intervals() -> None:
    small_a, small_b = BlindOrder(1, "small", "large"), BlindOrder(2, "large", "small")
    # Chat: the small side wins 7 (4 as A, 3 as B), loses 3, 1 tie and 1 both bad: 12 votes.
    choices = ["A"] * 4 + ["B"] * 2 + ["tie", "both_bad"]
    trials = [blind_trial(c, small_a, f"c{i}") for i, c in enumerate(choices)]
    trials += [blind_trial(c, small_b, f"d{i}") for i, c in enumerate(["B", "B", "B", "A"])]
    trials += [blind_trial("A", small_b, "t0", task="translate"), blind_trial(None, small_b, "u0")]  # unvoted
    chat, translate = tally_votes(trials)
    assert (chat.task, chat.wins, chat.losses, chat.ties, chat.both_bad, chat.n) == ("chat", 7, 3, 1, 1, 12)
    assert (chat.model, chat.other_model) == ("SmolLM2-135M-Instruct", "gpt-4o-mini")
    # Wilson by hand, 7 of 12, z = 1.96: (p + z²/2n ± z·sqrt(p(1-p)/n + z²/4n²)) / (1 + z²/n) = 0.3195 … 0.8067
    low, high = chat.interval() or (0, 0)
    assert low == pytest.approx(0.3195, abs=5e-4) and high == pytest.approx(0.8067, abs=5e-4)
    assert chat.sentence("The audience") == ("The audience preferred the small model 7 of 12 times (58 %, 95 % CI "
                                             "32 %–81 %); 1 tie, 1 both bad.")
    # Translate: 0 of 1, z = 1.96: (0 … z²/(1 + z²)) = 0 … 0.7935
    assert (translate.wins, translate.losses) == (0, 1)
    assert translate.interval() == pytest.approx((0.0, 0.7935), abs=5e-4)
    total = total_tally(trials)
    assert total is not None and (total.wins, total.n) == (7, 13)
    assert total_tally([blind_trial(None, small_a)]) is None
