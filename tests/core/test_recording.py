"""Recordings and their replay: a recorded trial plays back through the session at its recorded pace, with
its recorded figures, marked recorded, opening no socket; bad recording files say what is wrong; the cost of
a million answers is computed from measured trials only.

The pace is checked on a clock the test runs (`ReplayClock`): on the real clock a loaded 2-core machine wakes
a replay tens of milliseconds late, so a bound on when a delta was shown would be a flaky wall-clock
threshold, and the stamps a delta carries are the replay's own schedule (comparing them with the recording
shows nothing about when it was shown). On the test's clock, time moves only when the replay waits, every
wake-up comes a fixed `LATE_S` late, and a listener reads the clock when each delta reaches it."""

from __future__ import annotations

import json
import math
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest

from lmscales.core import offline, recording
from lmscales.core.engines import replay as replay_module
from lmscales.core.engines.local import LocalEngine
from lmscales.core.engines.replay import ReplayEngine
from lmscales.core.events import EngineError, EngineInfo, Finished, TextDelta
from lmscales.core.extrapolation import million_answers
from lmscales.core.pricing import Cost, Price
from lmscales.core.recording import RecordingError
from lmscales.core.resource_monitor import ResourceMonitor, ResourceSample
from lmscales.core.session import Session, SessionEvent, SideStreamed
from lmscales.core.trial import GenerationParams, SideResult, TaskInput, Trial

TOLERANCE_S = 0.020
LATE_S = 0.015  # how late the test's clock wakes the replay: within the tolerance once, beyond it if it adds up
STORED_S = 1e-6  # a recording keeps times to the microsecond
REMOTE = EngineInfo(kind="remote", model="gpt-4o-mini", context_tokens=128_000, host="api.openai.com",
                    loopback=False)
LOCAL = EngineInfo(kind="local", model="SmolLM2-135M-Instruct", context_tokens=4096, threads=2)
ASK = TaskInput(task="chat", text="Say hello.")


def _finished(offsets: list[float], words: list[str]) -> Finished:
    return Finished(prompt_tokens=12, prompt_tokens_provenance="measured", output_tokens=len(words),
                    output_tokens_provenance="measured", submitted_at=0.0,
                    deltas=tuple(zip(offsets, words, strict=True)), stop_reason="stop")


def _recorded_trial() -> Trial:
    # Uneven gaps, as a real stream has: a slow first token, then bursts and pauses.
    large_offsets = [0.180, 0.195, 0.240, 0.241, 0.330, 0.400, 0.455]
    small_offsets = [0.060, 0.090, 0.120, 0.150]
    large = SideResult(side="large", label="Large", engine=REMOTE, text="Hello there, how are you today?",
                       started_at="2026-11-28T10:00:00+00:00",
                       finished=_finished(large_offsets, ["Hello", " there", ",", " how", " are", " you", " today?"]),
                       cost=Cost(0.0000042, "measured", Price("gpt-4o-mini", 0.15, 0.6, "test")))
    small = SideResult(side="small", label="Small", engine=LOCAL, text="Hi! Hello.",
                       started_at="2026-11-28T10:00:00+00:00",
                       finished=_finished(small_offsets, ["Hi", "!", " Hello", "."]), cpu_seconds=0.3)
    return Trial(id="rec1", created_at="2026-11-28T10:00:00+00:00", input=ASK, params=GenerationParams(),
                 sides=(small, large))


class ReplayClock:
    """The replay engine's clock and waits, run by the test. Each thread has its own time (the two sides replay
    in parallel threads, each from its own start); it starts at `START` and moves only when the replay waits:
    by exactly the time waited for plus `late`, as a busy machine wakes up late. A replay that does not wait
    shows every delta at its start; one that waits too long, or measures each wait from the last late wake-up
    (drift), shows them late."""

    START = 100.0

    def __init__(self, late: float) -> None:
        self.late = late
        self.waits = 0
        self._local = threading.local()

    def perf_counter(self) -> float:
        return float(getattr(self._local, "now", self.START))

    def event(self) -> ClockEvent:
        return ClockEvent(self)

    def wait(self, seconds: float) -> None:
        self.waits += 1
        self._local.now = self.perf_counter() + max(0.0, seconds) + self.late

    def install(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """The replay module's `time` and `threading`, with only what the replay uses: anything else it
        starts to use fails here loudly (AttributeError) instead of quietly running on the real clock."""
        monkeypatch.setattr(replay_module, "time", SimpleNamespace(perf_counter=self.perf_counter))
        monkeypatch.setattr(replay_module, "threading", SimpleNamespace(Event=self.event, Lock=threading.Lock))


class ClockEvent:
    """A `threading.Event` whose timed wait passes on the `ReplayClock` instead of the real one."""

    def __init__(self, clock: ReplayClock) -> None:
        self.clock = clock
        self._flag = threading.Event()

    def set(self) -> None:
        self._flag.set()

    def clear(self) -> None:
        self._flag.clear()

    def is_set(self) -> bool:
        return self._flag.is_set()

    def wait(self, timeout: float | None = None) -> bool:
        if not self._flag.is_set():
            assert timeout is not None, "the replay waited with no timeout"
            self.clock.wait(timeout)
        return self._flag.is_set()


class Streams:
    """Every delta the session reports, and when it reached this listener on `clock` (the real clock unless
    the test runs the replay's)."""

    def __init__(self, clock: Callable[[], float] = time.perf_counter) -> None:
        self.clock = clock
        self.deltas: dict[str, list[TextDelta]] = {}
        self.seen: dict[str, list[float]] = {}
        self.lock = threading.Lock()

    def __call__(self, event: SessionEvent) -> None:
        if isinstance(event, SideStreamed) and isinstance(event.event, TextDelta):
            seen = self.clock()
            with self.lock:
                self.deltas.setdefault(event.side, []).append(event.event)
                self.seen.setdefault(event.side, []).append(seen)


@pytest.fixture
def guarded() -> Iterator[list[tuple[object, ...]]]:
    """The offline guard on, and every socket this process creates counted."""
    created: list[tuple[object, ...]] = []
    original = socket.socket.__init__

    def counting_init(self: socket.socket, *args: object, **kwargs: object) -> None:
        created.append(args)
        original(self, *args, **kwargs)  # type: ignore[arg-type]

    offline.attempts.clear()
    offline.enable()
    socket.socket.__init__ = counting_init  # type: ignore[method-assign]
    try:
        yield created
    finally:
        socket.socket.__init__ = original  # type: ignore[method-assign]
        offline.disable()
        offline.attempts.clear()


def _replay(trial: Trial, speed: float = 1.0, clock: ReplayClock | None = None) -> tuple[Trial, Streams]:
    engines = {result.side: ReplayEngine(result, speed) for result in trial.sides}
    session = Session(engines, is_offline=offline.enabled)  # type: ignore[arg-type]
    streams = Streams(clock.perf_counter if clock is not None else time.perf_counter)
    session.subscribe(streams)
    replayed = session.run(trial.input, trial.params, [result.side for result in trial.sides])
    return replayed, streams


def _stamped_offsets(replayed: Trial, streams: Streams, side: str) -> list[float]:
    """What each delta carries: its due time, after the replay's start (what the figures are computed from)."""
    result = replayed.side(side)
    assert result is not None and result.finished is not None
    return [delta.timestamp - result.finished.submitted_at for delta in streams.deltas[side]]


def _shown_offsets(replayed: Trial, streams: Streams, side: str) -> list[float]:
    """When each delta reached the listener, after the replay's start."""
    result = replayed.side(side)
    assert result is not None and result.finished is not None
    return [seen - result.finished.submitted_at for seen in streams.seen[side]]


def _assert_shown_on_time(shown: list[float], expected: list[float], what: str) -> None:
    """Each delta shown at its recorded time, never before it and at most `TOLERANCE_S` after it."""
    assert len(shown) == len(expected), what
    for index, (at, due) in enumerate(zip(shown, expected, strict=True)):
        assert due - STORED_S <= at <= due + TOLERANCE_S, (
            f"{what}: delta {index + 1} shown {(at - due) * 1000:+.1f} ms from its recorded time {due * 1000:.0f} ms")


@pytest.mark.parametrize("speed", [1.0, 2.0, 4.0])
def test_a_replay_streams_at_the_recorded_pace_offline_and_opens_no_socket(
    tmp_path: Path, guarded: list[tuple[object, ...]], speed: float, monkeypatch: pytest.MonkeyPatch
) -> None:
    original = _recorded_trial()
    path = recording.save(recording.from_trials([original]), tmp_path / f"demo{recording.SUFFIX}")
    loaded = recording.load(path)
    clock = ReplayClock(late=LATE_S)
    clock.install(monkeypatch)

    replayed, streams = _replay(loaded.trials[0], speed, clock)

    assert clock.waits > 0
    for side in ("small", "large"):
        recorded = original.side(side)
        assert recorded is not None and recorded.finished is not None
        expected = [at / speed for at, _ in recorded.finished.deltas]
        # Shown at the recorded pace, each within 20 ms of its time (the clock wakes every wait 15 ms late) ...
        _assert_shown_on_time(_shown_offsets(replayed, streams, side), expected, f"{side} at ×{speed}")
        # ... and stamped with its recorded time, not with when a late wake-up showed it.
        assert _stamped_offsets(replayed, streams, side) == pytest.approx(expected, abs=STORED_S)
        result = replayed.side(side)
        assert result is not None and result.recorded and result.engine is not None and result.engine.recorded
        assert result.text == recorded.text
        # Every figure is the recorded one, whatever the speed.
        assert result.metrics is not None and recorded.metrics is not None
        assert result.metrics.time_to_first_token.value == pytest.approx(recorded.metrics.time_to_first_token.value)
        assert result.metrics.decode_rate.value == pytest.approx(recorded.metrics.decode_rate.value)
        assert result.finished is not None and result.finished.output_tokens == recorded.finished.output_tokens
        assert result.cost == recorded.cost and result.cpu_seconds == recorded.cpu_seconds
    # The remote side is beyond this computer, yet offline mode let its replay run: nothing was contacted.
    assert offline.attempts == []
    assert guarded == []
    assert replayed.to_dict()["sides"]["large"]["recorded"] is True


def test_stopping_a_replay_keeps_what_was_shown_as_stopped() -> None:
    trial = _recorded_trial()
    large = trial.side("large")
    assert large is not None
    engine = ReplayEngine(large, speed=1.0)
    session = Session({"large": engine})  # type: ignore[dict-item]
    shown = threading.Event()

    def on_event(event: SessionEvent) -> None:
        if isinstance(event, SideStreamed) and isinstance(event.event, TextDelta):
            shown.set()

    session.subscribe(on_event)
    session.submit(trial.input, trial.params, ["large"])
    assert shown.wait(10)
    session.cancel()
    replayed = session.wait(10)
    assert replayed is not None
    result = replayed.side("large")
    assert result is not None and result.status == "stopped" and result.recorded
    assert 0 < len(result.text) < len(large.text)


def test_a_recorded_failure_replays_as_the_same_failure() -> None:
    failed = SideResult(side="large", label="Large", engine=REMOTE, text="", started_at="",
                        error=EngineError("rate_limited", "The server answered 429: slow down."))
    events = list(ReplayEngine(failed).generate(_request()))
    assert events == [failed.error]


def _request():  # type: ignore[no-untyped-def]
    from lmscales.core.events import GenerationRequest, Message
    return GenerationRequest(messages=(Message("user", "x"),))


def test_a_recording_keeps_trials_samples_and_where_it_was_made(tmp_path: Path) -> None:
    sample = ResourceSample(timestamp=1000.5, engine_pid=4242, engine_cpu_percent=50.0, engine_cpu_cores=1.0,
                            engine_rss_bytes=2e8, engine_threads=4, gui_cpu_percent=3.0, gui_rss_bytes=1e8,
                            system_cpu_percent=60.0, system_cpu_per_core=(55.0, math.nan), memory_used_bytes=4e9,
                            memory_total_bytes=8e9, net_recv_bytes_per_s=100.0, small_tokens_per_s=20.0,
                            large_tokens_per_s=math.nan, power_watts=math.nan, power_provenance="estimated")
    later = ResourceSample(**{**sample.__dict__, "timestamp": 1001.0})
    original = recording.from_trials([_recorded_trial()], [sample, later], title="Speed on this laptop")
    path = recording.save(original, tmp_path / "talk.lmsrec.json")
    loaded = recording.load(path)
    assert loaded.trials[0].to_dict() == original.trials[0].to_dict()
    assert [s.timestamp for s in loaded.samples] == [0.0, 0.5]  # relative to the first sample
    assert loaded.samples[0].engine_pid is None  # a process id means nothing in another run
    assert loaded.samples[0].system_cpu_per_core[0] == 55.0 and math.isnan(loaded.samples[0].system_cpu_per_core[1])
    assert loaded.title == "Speed on this laptop" and loaded.machine == original.machine
    assert loaded.banner.startswith("REPLAY of ") and original.machine in loaded.banner
    assert "4242" not in path.read_text(encoding="utf-8")
    assert loaded.find(TaskInput(task="chat", text="  Say hello. "), "large") is not None
    assert loaded.find(TaskInput(task="chat", text="Say goodbye."), "large") is None


@pytest.mark.parametrize(("mangle", "message"), [
    (lambda text: text[: len(text) // 2], r"talk\.lmsrec\.json is cut off \(truncated\): not valid JSON"),
    (lambda text: text[: text.index("Hello there") + 3], r"is cut off \(truncated\)"),  # inside a string
    (lambda text: text[: text.index('"sides"')], r"is cut off \(truncated\)"),  # between two fields
    (lambda text: text.replace('"trials"', '"trials" x', 1), r"talk\.lmsrec\.json is damaged: not valid JSON"),
    (lambda text: text.replace('"version": 1', '"version": 9', 1),
     r"made by a newer LM Scales \(recording version 9; this version reads 1\)\. Update LM Scales"),
    (lambda text: text.replace('"lmscales-recording"', '"other"', 1), r"is not an LM Scales recording"),
    (lambda text: json.dumps({**json.loads(text), "trials": []}), r"holds no trials"),
    (lambda text: text.replace('"schema_version": 1', '"schema_version": 5', 1),
     r"trial 1: written by a newer LM Scales \(trial schema 5"),
    (lambda text: text.replace('"created_at": "2026-11-28T10:00:00+00:00"', '"made": 1', 1),
     r"trial 1: a trial is missing or has a bad field"),
])
def test_a_bad_recording_file_says_what_is_wrong(tmp_path: Path, mangle, message: str) -> None:  # type: ignore[no-untyped-def]
    path = recording.save(recording.from_trials([_recorded_trial()]), tmp_path / "talk.lmsrec.json")
    path.write_text(mangle(path.read_text(encoding="utf-8")), encoding="utf-8")
    with pytest.raises(RecordingError, match=message):
        recording.load(path)


def test_a_missing_recording_is_named(tmp_path: Path) -> None:
    with pytest.raises(RecordingError, match=r"No recording at .*gone\.json"):
        recording.load(tmp_path / "gone.json")


def test_a_million_answers_is_the_measured_answer_scaled_and_labelled() -> None:
    figures = {f.side: f for f in million_answers([_recorded_trial(), _recorded_trial()])}
    large, small = figures["large"], figures["small"]
    assert large.usd == pytest.approx(0.0000042 * 1_000_000)
    assert large.output_tokens == 7 and large.prompt_tokens == 12
    assert large.cpu_hours is None  # a server's CPU time is not measured here: no figure, not a guess
    assert small.usd is None  # no price for a model on this CPU
    assert small.cpu_hours == pytest.approx(0.3 * 1_000_000 / 3600)
    assert small.generation_hours == pytest.approx(0.150 * 1_000_000 / 3600)
    assert small.label_text == "Extrapolated from 2 measured answers × 1,000,000"
    failed = Trial(id="f", created_at="", input=ASK, params=GenerationParams(), sides=(
        SideResult(side="large", label="Large", engine=REMOTE, text="", started_at="",
                   error=EngineError("server", "500")),))
    assert million_answers([failed]) == []


def test_on_the_real_clock_no_delta_is_shown_before_its_recorded_time() -> None:
    original = _recorded_trial()
    replayed, streams = _replay(original, speed=4.0)
    for side in ("small", "large"):
        recorded = original.side(side)
        assert recorded is not None and recorded.finished is not None
        expected = [at / 4.0 for at, _ in recorded.finished.deltas]
        shown = _shown_offsets(replayed, streams, side)
        assert len(shown) == len(expected)
        # Late is allowed here (a loaded machine wakes late); early is not.
        assert all(at >= due for at, due in zip(shown, expected, strict=True)), (side, shown, expected)


@pytest.mark.slow
def test_a_trial_of_the_real_model_replays_within_20_ms_of_its_recorded_deltas(
    tmp_path: Path, engine: LocalEngine, guarded: list[tuple[object, ...]], monkeypatch: pytest.MonkeyPatch
) -> None:
    offline.disable()  # the live run is recorded first; the guard is back on for the replay
    live = Session({"small": engine}, monitor=None).run(
        TaskInput(task="chat", text="Name three colours."), GenerationParams(max_tokens=24, temperature=0.0, seed=1),
        ["small"])
    offline.enable()
    created_before = len(guarded)
    path = recording.save(recording.from_trials([live]), tmp_path / "live.lmsrec.json")
    clock = ReplayClock(late=LATE_S)
    clock.install(monkeypatch)  # the live run above was on the real clock; its replay is on the test's
    replayed, streams = _replay(recording.load(path).trials[0], clock=clock)
    recorded = live.side("small")
    assert recorded is not None and recorded.finished is not None and len(recorded.finished.deltas) > 3
    base = recorded.finished.submitted_at
    expected = [at - base for at, _ in recorded.finished.deltas]
    _assert_shown_on_time(_shown_offsets(replayed, streams, "small"), expected, "the real model's trial")
    assert _stamped_offsets(replayed, streams, "small") == pytest.approx(expected, abs=STORED_S)
    assert replayed.sides[0].text == recorded.text and replayed.sides[0].recorded
    assert offline.attempts == [] and len(guarded) == created_before


def _sample_at(timestamp: float, cpu: float, tokens: float) -> ResourceSample:
    return ResourceSample(timestamp=timestamp, engine_pid=None, engine_cpu_percent=cpu, engine_cpu_cores=cpu / 50,
                          engine_rss_bytes=2e8 + cpu, engine_threads=4, gui_cpu_percent=3.0, gui_rss_bytes=1e8,
                          system_cpu_percent=cpu + 5, system_cpu_per_core=(cpu, cpu + 1), memory_used_bytes=4e9,
                          memory_total_bytes=8e9, net_recv_bytes_per_s=10 * tokens, small_tokens_per_s=tokens,
                          large_tokens_per_s=tokens / 2, power_watts=math.nan, power_provenance="estimated")


def test_a_recording_plays_the_samples_of_each_trial_at_the_recorded_pace(tmp_path: Path) -> None:
    # Samples every 0.25 s from 100.0 to 120.0 on the recording machine's clock; the trial ran 110.0 → 112.0.
    samples = [_sample_at(100.0 + i * 0.25, cpu=float(i), tokens=float(i % 7)) for i in range(81)]
    original = recording.from_trials([_recorded_trial()], samples, spans=[(110.0, 112.0)])
    loaded = recording.load(recording.save(original, tmp_path / "talk.lmsrec.json"))
    assert loaded.spans == ((10.0, 12.0),)  # on the samples' clock, relative to the first sample, as they are
    found = loaded.samples_of(loaded.trials[0])
    assert found is not None
    chosen, request_at = found
    assert request_at == 10.0
    # From the lead-in (5 s before the request) to 1 s after the end: 5.0 s .. 13.0 s.
    assert [s.timestamp for s in chosen] == [5.0 + i * 0.25 for i in range(33)]

    # ×2: the sample taken 1 s after the request is due 0.5 s after the replay's request (at 500.0 here);
    # the lead-in is due at once; every value is the recorded one.
    playback = recording.SamplePlayback(chosen, request_at, started_at=500.0, speed=2.0)
    lead_in = playback.advance(500.0)
    assert [s.timestamp for s in lead_in] == [500.0 + (5.0 + i * 0.25 - 10.0) / 2 for i in range(21)]
    assert [s.timestamp for s in playback.advance(500.49)] == [500.125, 500.25, 500.375]
    one_second_after = playback.advance(500.5)
    assert [s.engine_cpu_percent for s in one_second_after] == [chosen[24].engine_cpu_percent]
    assert chosen[24].timestamp == 11.0
    assert not playback.done
    playback.advance(501.5)
    assert playback.done and len(playback.played) == len(chosen)
    data = playback.snapshot()
    for name in ("engine_cpu_percent", "small_tokens_per_s", "large_tokens_per_s", "net_recv_bytes_per_s",
                 "engine_rss_bytes", "system_cpu_percent"):
        assert list(data[name]) == [getattr(s, name) for s in chosen], name
    assert data["system_cpu_per_core"].shape == (len(chosen), 2)
    assert list(data["timestamp"]) == [500.0 + (s.timestamp - 10.0) / 2 for s in chosen]
    assert playback.latest() is not None and playback.latest().engine_cpu_percent == chosen[-1].engine_cpu_percent  # type: ignore[union-attr]


def test_a_recording_without_spans_has_no_samples_to_play_and_bad_spans_are_named(tmp_path: Path) -> None:
    samples = [_sample_at(100.0 + i, cpu=1.0, tokens=1.0) for i in range(3)]
    path = recording.save(recording.from_trials([_recorded_trial()], samples), tmp_path / "old.lmsrec.json")
    data = json.loads(path.read_text(encoding="utf-8"))
    del data["spans"]  # as written before spans were kept
    path.write_text(json.dumps(data), encoding="utf-8")
    old = recording.load(path)
    assert old.spans == () and old.samples_of(old.trials[0]) is None
    for bad, message in (([[3.0, 1.0]], "not two increasing numbers"), ([], "one time span per trial"),
                         ([["a", 2]], "not two increasing numbers")):
        path.write_text(json.dumps({**data, "spans": bad}), encoding="utf-8")
        with pytest.raises(RecordingError, match=message):
            recording.load(path)


def test_the_collector_keeps_a_live_trials_time_on_the_samplers_clock() -> None:
    live = _recorded_trial()
    small = live.sides[0]
    assert small.finished is not None
    live_small = SideResult(**{**small.__dict__, "finished": Finished(**{**small.finished.__dict__,
                                                                         "submitted_at": 1234.5})})
    collector = recording.Collector()
    collector.add_trial(Trial(**{**live.__dict__, "sides": (live_small, live.sides[1])}), ended_at=1236.0)
    collector.add_sample(_sample_at(1230.0, cpu=1.0, tokens=0.0))
    made = collector.recording()
    # The large side's stored submit (0.0) is no instant on this clock; the small side's is.
    assert made.spans == ((1234.5, 1236.0),)
    assert made.to_dict()["spans"] == [[4.5, 6.0]]


def test_a_replay_counts_no_tokens_into_this_machines_sampler() -> None:
    monitor = ResourceMonitor()
    trial = _recorded_trial()
    session = Session({result.side: ReplayEngine(result, 4.0) for result in trial.sides},  # type: ignore[misc]
                      monitor=monitor)
    streams = Streams()
    session.subscribe(streams)
    session.run(trial.input, trial.params, ["small", "large"])
    for side in ("small", "large"):
        last = streams.deltas[side][-1].timestamp
        assert len(streams.deltas[side]) >= 4
        # Live, this would read the replay's ×4 pace as this machine's tokens per second.
        assert monitor.tokens_per_second(side, now=last) == 0.0  # type: ignore[arg-type]
