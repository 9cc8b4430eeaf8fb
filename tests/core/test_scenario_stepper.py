"""Stepping through a talk with no window and no QApplication: Space and PageUp move through a scenario's
steps, a step runs on its ready sides or says why not, Space while the small model loads is kept for when it
has loaded (and dropped, with the loader's reason, when it fails), a failed large side falls back to a
recording only for the network's or the service's failures, and the million-answers figures read as words."""

from __future__ import annotations

import pytest

from lmscales.core import scenario
from lmscales.core.events import EngineError, EngineInfo, Finished
from lmscales.core.extrapolation import MillionAnswers, million_answers_text
from lmscales.core.recording import Recording
from lmscales.core.scenario_stepper import (
    FALLBACK_ERRORS,
    ScenarioStepper,
    SidesNow,
    StepRefused,
    StepRun,
    may_fall_back,
    recorded_fallback,
)
from lmscales.core.trial import GenerationParams, SideResult, TaskInput, Trial

TALK = scenario.parse('''
version = 1
title = "Test talk"
[[steps]]
title = "Colours"
task = "chat"
input = "Name two colours."
[steps.params]
max_tokens = 12
seed = 1
[[steps]]
title = "Into French"
task = "translate"
target_language = "fr"
input = "Good morning."
sides = ["small"]
extrapolate = "million_answers"
[[steps]]
title = "Far away"
task = "chat"
input = "Say hello."
sides = ["large"]
''', "talk.toml")

BOTH = SidesNow.of(running=False, ready=("small", "large"))
REMOTE = EngineInfo(kind="remote", model="gpt-test", context_tokens=8192, host="api.example.com", loopback=False)
SERVER = EngineInfo(kind="remote", model="served", context_tokens=8192, host="127.0.0.1:8080", loopback=True)


def test_space_runs_each_step_in_turn_with_its_input_params_and_sides() -> None:
    stepper = ScenarioStepper(TALK)
    assert stepper.current is None and stepper.following is not None and stepper.following.title == "Colours"
    assert stepper.heading == "Test talk"
    run = stepper.next(BOTH)
    assert isinstance(run, StepRun)
    assert (run.index, run.number, run.sides) == (0, 1, ("small", "large"))
    assert run.input == TaskInput(task="chat", text="Name two colours.")
    assert (run.params.max_tokens, run.params.seed) == (12, 1)
    assert stepper.current is None  # not started yet: planning moves nothing
    stepper.started(run)
    assert stepper.current is not None and stepper.current.title == "Colours"
    assert stepper.heading == "Test talk — Colours" and stepper.extrapolation is None

    second = stepper.next(BOTH)
    assert isinstance(second, StepRun) and second.sides == ("small",) and second.input.target_lang == "fr"
    stepper.started(second)
    assert stepper.extrapolation == "million_answers"
    assert stepper.following is not None and stepper.following.title == "Far away"
    stepper.started(_run(stepper.next(BOTH)))
    assert stepper.following is None
    refused = stepper.next(BOTH)
    assert refused == StepRefused("last_step") and refused.message == "That was the last step."


def test_pageup_goes_back_one_step_and_does_nothing_before_the_first() -> None:
    stepper = ScenarioStepper(TALK)
    assert stepper.previous(BOTH) is None
    stepper.started(_run(stepper.next(BOTH)))
    assert stepper.previous(BOTH) is None  # on the first step: nothing before it, nothing to say
    stepper.started(_run(stepper.next(BOTH)))
    back = stepper.previous(BOTH)
    assert isinstance(back, StepRun) and back.index == 0


def test_a_step_runs_on_its_ready_sides_or_says_why_it_cannot() -> None:
    stepper = ScenarioStepper(TALK)
    small_only = SidesNow.of(running=False, ready=("small",))
    assert _run(stepper.plan(0, small_only)).sides == ("small",)  # a step for both runs where it can
    nothing = stepper.plan(2, small_only)
    assert nothing == StepRefused("nothing_to_run", 3)
    assert nothing.message == "The large side is not set up: this step has nothing to run."
    no_small = stepper.plan(0, SidesNow.of(running=False, ready=("large",)))
    assert no_small == StepRefused("small_not_loaded", 1)
    assert no_small.message == "The small model is not loaded: open one in the main window (File), then Space."
    busy = stepper.plan(0, SidesNow.of(running=True, ready=("small", "large")))
    assert busy == StepRefused("running") and busy.message == "Still running: S stops it."
    assert stepper.index == -1  # nothing ran, the talk is where it was
    with pytest.raises(IndexError):
        stepper.plan(3, BOTH)


def test_space_without_a_scenario_says_how_to_load_one() -> None:
    refused = ScenarioStepper().next(BOTH)
    assert refused == StepRefused("no_scenario")
    assert refused.message == "No scenario loaded: lmscales demo run NAME, or type and send in the main window."
    assert StepRefused("last_recorded").message == "That was the last recorded comparison."


def test_space_while_the_small_model_loads_waits_for_it_and_runs_once() -> None:
    stepper = ScenarioStepper(TALK)
    loading = SidesNow.of(running=False, loading=("small",), ready=("large",))
    queued = stepper.plan(0, loading)
    assert queued == StepRefused("queued", 1)
    assert queued.message == "Step 1 starts as soon as the small model has loaded."
    assert stepper.plan(2, loading) == StepRun(2, TALK.steps[2], ("large",))  # a large-only step need not wait
    assert stepper.take_queued() == 0
    assert stepper.take_queued() is None  # once
    stepper.plan(0, loading)
    stepper.forget_queued()  # presenter mode left: nothing starts behind the presenter's back
    assert stepper.take_queued() is None
    stepper.load(TALK)
    assert stepper.take_queued() is None and stepper.index == -1


def test_a_step_waiting_for_a_model_that_fails_to_load_is_dropped_with_the_reason() -> None:
    stepper = ScenarioStepper(TALK)
    assert stepper.drop_queued("not a GGUF file") is None  # nothing waited: nothing to say
    stepper.plan(0, SidesNow.of(running=False, loading=("small",)))
    dropped = stepper.drop_queued("not a GGUF file")
    assert dropped is not None
    assert dropped.message == "The small model did not load (not a GGUF file); the step did not run."
    assert stepper.take_queued() is None and stepper.index == -1


def _large(error: str | None = None, skipped: str | None = None, engine: EngineInfo = REMOTE,
           recorded: bool = False) -> SideResult:
    return SideResult(side="large", label="Large", engine=engine, text="", started_at="2026-11-28T10:00:00+00:00",
                      error=EngineError(error, "It failed.") if error else None,  # type: ignore[arg-type]
                      skipped=skipped, recorded=recorded)


@pytest.mark.parametrize("kind", sorted(FALLBACK_ERRORS))
def test_the_network_or_the_service_failing_may_fall_back_to_a_recording(kind: str) -> None:
    assert may_fall_back(_large(kind))


@pytest.mark.parametrize("kind", ["auth", "forbidden", "not_found", "bad_request", "quota", "context_length",
                                  "malformed", "crashed"])
def test_the_users_own_setup_failing_does_not_fall_back(kind: str) -> None:
    assert not may_fall_back(_large(kind))  # a replay would hide a problem they must fix


def test_offline_refusing_a_far_side_falls_back_but_not_a_server_here_or_a_replay() -> None:
    assert may_fall_back(_large(skipped="Offline mode: not sent."))
    assert not may_fall_back(_large(skipped="Offline mode: not sent.", engine=SERVER))
    assert not may_fall_back(_large("timeout", recorded=True))
    assert not may_fall_back(_large())  # it did not fail


def test_the_fallback_is_the_recorded_trial_of_this_very_step_for_the_large_side_only() -> None:
    asked = TaskInput(task="chat", text="Say hello.")
    finished = Finished(prompt_tokens=5, prompt_tokens_provenance="measured", output_tokens=2,
                        output_tokens_provenance="measured", submitted_at=0.0, deltas=((0.2, "Hello"), (0.25, "!")),
                        stop_reason="stop")
    answers = tuple(SideResult(side=side, label=side.title(), engine=REMOTE, text="Hello!",
                               started_at="2026-11-28T10:00:00+00:00", finished=finished)
                    for side in ("small", "large"))
    recorded = Trial(id="r1", created_at="2026-11-28T10:00:00+00:00", input=asked, params=GenerationParams(),
                     sides=answers)
    held = Recording(trials=(recorded,), created_at="2026-11-28T10:05:42+00:00", machine="Linux, x86_64, 2 CPUs")
    assert recorded_fallback(held, asked, _large("dns")) == recorded
    assert recorded_fallback(held, TaskInput(task="chat", text="Something else."), _large("dns")) is None
    assert recorded_fallback(held, asked, _large("auth")) is None
    assert recorded_fallback(None, asked, _large("dns")) is None
    small = SideResult(side="small", label="Small", engine=SERVER, text="", started_at="x",
                       error=EngineError("timeout", "It failed."))
    assert recorded_fallback(held, asked, small) is None  # the recording holds a small answer, yet only large
    # What a button names of the recording: typed fields, not a slice of the banner's words.
    assert (held.when, held.machine, held.origin) == ("2026-11-28 10:05", "Linux, x86_64, 2 CPUs",
                                                     "2026-11-28 10:05, Linux, x86_64, 2 CPUs")
    assert held.banner == "REPLAY of 2026-11-28 10:05, Linux, x86_64, 2 CPUs"


def test_a_million_answers_reads_as_money_cpu_hours_energy_and_time_per_side() -> None:
    def figure(side: str, **values: float | None) -> MillionAnswers:
        fields: dict[str, float | None] = {"usd": None, "cpu_hours": None, "energy_kwh": None,
                                           "generation_hours": None, **values}
        return MillionAnswers(side=side, label=side.title(), model="m", measured_answers=2, prompt_tokens=10.0,
                              output_tokens=20.0, estimated=side == "small", **fields)  # type: ignore[arg-type]

    text = million_answers_text([figure("small", cpu_hours=1234.4, energy_kwh=56.78, generation_hours=99.6),
                                 figure("large", usd=4200.5), figure("third")])
    assert text == ("A million answers like this one — Small: 1,234 CPU-hours, 56.8 kWh, 100 h one after the "
                    "other · Large: $4,200 · Third: no measured figure\n"
                    "Extrapolated from 2 measured answers × 1,000,000 (includes estimated figures); "
                    "prices from the price table.")
    assert million_answers_text([]) == ""


def _run(plan: StepRun | StepRefused | None) -> StepRun:
    assert isinstance(plan, StepRun), plan
    return plan
