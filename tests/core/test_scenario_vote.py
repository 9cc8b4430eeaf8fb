"""A scenario step of kind "vote" (Qt-free): read from the file, it runs on both sides only, and the talk waits
for the room's vote (keys 1-4) before the next step; a file with a wrong kind or a one-sided vote is refused."""

from __future__ import annotations

import pytest

from lmscales.core import scenario
from lmscales.core.scenario_stepper import ScenarioStepper, SidesNow, StepRefused, StepRun

VOTE_TALK = scenario.parse('''
version = 1
title = "Which is better?"
[[steps]]
title = "Blind"
kind = "vote"
task = "chat"
input = "Name a colour."
[[steps]]
title = "Open"
task = "chat"
input = "Name a fruit."
''', "vote.toml")
BOTH = SidesNow.of(running=False, ready=("small", "large"))


def test_a_vote_step_waits_for_the_rooms_vote_before_the_next_step() -> None:
    assert [step.kind for step in VOTE_TALK.steps] == ["vote", "compare"]
    stepper = ScenarioStepper(VOTE_TALK)
    run = stepper.next(BOTH)
    assert isinstance(run, StepRun) and run.sides == ("small", "large")
    stepper.started(run)
    assert stepper.voting and stepper.ballot
    refused = stepper.next(BOTH)
    assert refused == StepRefused("vote_pending")
    assert refused.message == "Waiting for the room's vote: 1 for A, 2 for B, 3 for a tie, 4 if both are bad."
    assert stepper.previous(BOTH) is None  # nothing before the first step
    assert stepper.vote("5") is None and stepper.vote("q") is None and stepper.ballot  # not a vote
    assert stepper.vote("2") == "B" and not stepper.ballot
    assert stepper.vote("1") is None  # voted once: the ballot is closed
    following = stepper.next(BOTH)
    assert isinstance(following, StepRun) and following.step.title == "Open"
    stepper.started(following)
    assert not stepper.voting and not stepper.ballot and stepper.vote("1") is None


def test_a_vote_step_needs_both_sides_and_a_closed_ballot_frees_the_talk() -> None:
    stepper = ScenarioStepper(VOTE_TALK)
    refused = stepper.next(SidesNow.of(running=False, ready=("small",)))
    assert refused == StepRefused("vote_needs_both", 1)
    assert refused.message == "Step 1 asks the room to vote between two answers: set up the large side first."
    run = stepper.next(BOTH)
    assert isinstance(run, StepRun)
    stepper.started(run)
    stepper.close_ballot()  # the comparison ended without both answers
    assert isinstance(stepper.next(BOTH), StepRun)


def test_the_last_step_being_a_vote_waits_for_the_vote_before_saying_it_was_the_last() -> None:
    stepper = ScenarioStepper(scenario.Scenario("One", VOTE_TALK.steps[:1]))
    run = stepper.next(BOTH)
    assert isinstance(run, StepRun)
    stepper.started(run)
    assert stepper.next(BOTH) == StepRefused("vote_pending")
    assert stepper.vote("3") == "tie"
    assert stepper.next(BOTH) == StepRefused("last_step")


@pytest.mark.parametrize(("extra", "message"), [
    ('kind = "poll"', "vote.toml, step 1 (Blind): kind must be one of compare, vote, not 'poll'."),
    ('kind = "vote"\nsides = ["small"]', "vote.toml, step 1 (Blind) is a vote between two answers: its sides must "
                                         "be both (leave out 'sides')."),
])
def test_a_wrong_kind_or_a_one_sided_vote_is_refused_with_the_reason(extra: str, message: str) -> None:
    text = f'version = 1\ntitle = "T"\n[[steps]]\ntitle = "Blind"\ntask = "chat"\ninput = "Hi."\n{extra}\n'
    with pytest.raises(scenario.ScenarioError) as raised:
        scenario.parse(text, "vote.toml")
    assert str(raised.value) == message
