"""Recordings: a demo's trials, with the time of every delta and the resource samples, saved to replay later.

A recording is a JSON file (documented in docs/scenarios.md, "Recordings"), versioned by `version`. Its trials
are the history's own `Trial.to_dict`, which already stores each delta's time relative to its side's submit,
so a replay streams at the recorded pace and shows the recorded figures. Resource samples are stored with
times relative to the first one. `machine` describes the computer the recording was made on, in words a
REPLAY banner can show (operating system, architecture, CPU count; never a host or user name). `spans` gives each
trial's time on the samples' clock (request sent to last side finished), so a replay plays the samples of its
trial into the graphs (`SamplePlayback`) at the recorded pace, instead of the live figures of the replaying
machine.

A file that is not JSON, cut off, of another format or of a newer version, or holds numbers out of range or
nesting too deep to read, raises `RecordingError` with a message for the user.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import platform
import time
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from lmscales import __version__
from lmscales.core.json_limits import JsonLimitError
from lmscales.core.json_limits import loads as limited_loads
from lmscales.core.resource_monitor import SCALAR_SERIES, ResourceSample
from lmscales.core.storage import write_atomically
from lmscales.core.trial import TaskInput, Trial, TrialFormatError, now_iso

FORMAT = "lmscales-recording"
VERSION = 1
SUFFIX = ".lmsrec.json"
PRE_ROLL_S = 5.0  # recorded seconds of samples before a trial's request that a replay shows (the graph's lead-in)
POST_ROLL_S = 1.0  # ... and after its last side finished

Span = tuple[float, float]  # (request sent, last side finished) on the samples' clock, in seconds


class RecordingError(ValueError):
    """A recording that cannot be read or written; the message is for the user."""


def this_machine() -> str:
    """The computer in words, for a REPLAY banner: no host name, no user name."""
    system = f"{platform.system()} {platform.release()}".strip() or "unknown system"
    cores = os.cpu_count()
    return f"{system}, {platform.machine() or 'unknown CPU'}" + (f", {cores} CPUs" if cores else "")


def same_step(a: TaskInput, b: TaskInput) -> bool:
    """Two inputs are the same demo step when the model was asked the same thing."""
    return (a.task, a.text.strip(), a.target_lang, a.source_lang or None, a.summary_length, a.system_prompt) == (
        b.task, b.text.strip(), b.target_lang, b.source_lang or None, b.summary_length, b.system_prompt)


@dataclass(frozen=True)
class Recording:
    trials: tuple[Trial, ...]
    samples: tuple[ResourceSample, ...] = ()
    created_at: str = field(default_factory=now_iso)
    machine: str = field(default_factory=this_machine)
    app_version: str = __version__
    title: str = ""  # the scenario's title, where it was recorded from one
    spans: tuple[Span | None, ...] = ()  # per trial (same order), on the samples' clock; None: not known

    @property
    def when(self) -> str:
        """When it was recorded, to the minute ("2025-05-01 14:03")."""
        return self.created_at.replace("T", " ")[:16]

    @property
    def origin(self) -> str:
        """When, and on what computer, it was recorded: what a banner or a button names."""
        return f"{self.when}, {self.machine}"

    @property
    def banner(self) -> str:
        """What the replay window says on top of everything: when, and on what, this was recorded."""
        return f"REPLAY of {self.origin}"

    def find(self, task_input: TaskInput, side: str | None = None) -> Trial | None:
        """The last recorded trial of the same step (with a finished answer on `side`, if given)."""
        for trial in reversed(self.trials):
            if not same_step(trial.input, task_input):
                continue
            if side is None:
                return trial
            result = trial.side(side)
            if result is not None and result.ok:
                return trial
        return None

    def _span_per_trial(self) -> tuple[Span | None, ...]:
        return (self.spans + (None,) * len(self.trials))[: len(self.trials)]

    def span(self, trial: Trial) -> Span | None:
        for index, kept in enumerate(self.trials):
            if kept is trial or kept.id == trial.id:
                return self.spans[index] if index < len(self.spans) else None
        return None

    def samples_of(self, trial: Trial) -> tuple[tuple[ResourceSample, ...], float] | None:
        """The samples recorded while `trial` ran (from `PRE_ROLL_S` before its request to `POST_ROLL_S` after
        it ended) and the instant of its request on the same clock; None when the recording cannot tell (no
        samples, or a trial of unknown time)."""
        span = self.span(trial)
        if span is None or not self.samples:
            return None
        start, end = span
        chosen = tuple(sample for sample in self.samples
                       if start - PRE_ROLL_S <= sample.timestamp <= end + POST_ROLL_S)
        return (chosen, start) if chosen else None

    def to_dict(self) -> dict[str, Any]:
        base = self.samples[0].timestamp if self.samples else 0.0
        return {
            "format": FORMAT,
            "version": VERSION,
            "created_at": self.created_at,
            "app_version": self.app_version,
            "machine": self.machine,
            "title": self.title,
            "trials": [trial.to_dict() for trial in self.trials],
            "samples": [_sample_to_dict(sample, base) for sample in self.samples],
            "spans": [None if span is None else [round(span[0] - base, 6), round(span[1] - base, 6)]
                      for span in self._span_per_trial()],
        }

    @classmethod
    def from_dict(cls, data: Any, source: str = "recording") -> Recording:
        if not isinstance(data, Mapping) or data.get("format") != FORMAT:
            raise RecordingError(f"{source} is not an LM Scales recording.")
        version = data.get("version")
        if not isinstance(version, int) or version < 1:
            raise RecordingError(f"{source} has no valid 'version'.")
        if version > VERSION:
            raise RecordingError(f"{source} was made by a newer LM Scales (recording version {version}; this version "
                                 f"reads {VERSION}). Update LM Scales to replay it.")
        raw_trials = data.get("trials")
        if not isinstance(raw_trials, list) or not raw_trials:
            raise RecordingError(f"{source} holds no trials.")
        trials = []
        for index, raw in enumerate(raw_trials, 1):
            try:
                trials.append(Trial.from_dict(raw))
            except TrialFormatError as error:
                raise RecordingError(f"{source}, trial {index}: {error}") from None
            except OverflowError:  # e.g. 1e400 where a count belongs: infinity as a whole number
                raise RecordingError(f"{source}, trial {index} holds a number out of range. It cannot be "
                                     "replayed.") from None
            except (ValueError, TypeError, RecursionError) as error:  # data no file of ours holds
                raise RecordingError(f"{source}, trial {index} cannot be read ({type(error).__name__}: {error}). "
                                     "It cannot be replayed.") from None
        try:
            samples = tuple(_sample_from_dict(raw) for raw in data.get("samples") or ())
        except (KeyError, TypeError, ValueError, OverflowError, RecursionError) as error:
            raise RecordingError(f"{source}: a resource sample is missing or has a bad field: {error}") from None
        return cls(trials=tuple(trials), samples=samples, created_at=str(data.get("created_at", "")),
                   machine=str(data.get("machine") or "an unknown machine"),
                   app_version=str(data.get("app_version", "")), title=str(data.get("title") or ""),
                   spans=_spans_from(data.get("spans"), len(trials), source))


def save(recording: Recording, path: str | Path) -> Path:
    path = Path(path)
    try:
        write_atomically(path, (json.dumps(recording.to_dict(), ensure_ascii=False, indent=1) + "\n").encode())
    except OSError as error:
        raise RecordingError(f"Cannot save the recording to {path}: {error.strerror or error}") from None
    return path


def load(path: str | Path) -> Recording:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise RecordingError(f"No recording at {path}.") from None
    except (OSError, UnicodeDecodeError) as error:
        raise RecordingError(f"Cannot read the recording {path.name}: {error}") from None
    try:
        data = limited_loads(text, finite=False)  # recorded samples may be NaN
    except JsonLimitError as error:
        raise RecordingError(f"{path.name} {error}. It cannot be replayed.") from None
    except json.JSONDecodeError as error:
        # The parser ran out of text: at the very end, or inside a string that never closes (a string cannot
        # hold a raw newline, so only the end of the file leaves one open).
        cut = error.pos >= len(text.rstrip()) - 1 or error.msg.startswith("Unterminated string")
        what = "cut off (truncated)" if cut else "damaged"
        raise RecordingError(f"{path.name} is {what}: not valid JSON ({error.msg}, line {error.lineno}). "
                             "It cannot be replayed.") from None
    return Recording.from_dict(data, path.name)


def from_trials(trials: Iterable[Trial], samples: Sequence[ResourceSample] = (), title: str = "",
                spans: Sequence[Span | None] = ()) -> Recording:
    return Recording(trials=tuple(trials), samples=tuple(samples), title=title, spans=tuple(spans))


def _spans_from(raw: Any, count: int, source: str) -> tuple[Span | None, ...]:
    """The file's spans; a file without them (written before they were kept) replays with no recorded samples
    in the graphs."""
    if raw is None:
        return ()
    if not isinstance(raw, list) or len(raw) != count:
        raise RecordingError(f"{source}: 'spans' must list one time span per trial.")
    spans: list[Span | None] = []
    for item in raw:
        if item is None:
            spans.append(None)
            continue
        if (not isinstance(item, list) or len(item) != 2
                or not all(isinstance(v, int | float) and math.isfinite(v) for v in item) or item[1] < item[0]):
            raise RecordingError(f"{source}: a trial's time span is not two increasing numbers: {item!r}.")
        spans.append((float(item[0]), float(item[1])))
    return tuple(spans)


def live_span(trial: Trial, ended_at: float) -> Span | None:
    """A live trial's time on the monitor's clock (perf_counter): from its first request (each finished side's
    submit instant; the resource summary's start) to `ended_at`, the moment it was kept."""
    starts = [side.finished.submitted_at for side in trial.sides if side.finished is not None and not side.recorded]
    starts += [side.resources.t_start for side in trial.sides if side.resources is not None and not side.recorded]
    starts = [start for start in starts if start > 0 and start <= ended_at]
    return (min(starts), ended_at) if starts else None


class Collector:
    """What a window has run since it opened, ready to be saved as a recording: every kept trial, and the
    resource samples (the last `max_samples`, so a long day of demos does not grow without bound).
    `add_sample` is called from the monitor's thread, `add_trial` from the session's: both only append."""

    def __init__(self, max_samples: int = 20_000) -> None:
        self.trials: list[Trial] = []
        self.spans: list[Span | None] = []
        self.samples: deque[ResourceSample] = deque(maxlen=max_samples)

    def add_trial(self, trial: Trial, ended_at: float | None = None) -> None:
        """`ended_at`: when the trial ended on the monitor's clock (now, by default: it is kept as it ends)."""
        self.spans.append(live_span(trial, time.perf_counter() if ended_at is None else ended_at))
        self.trials.append(trial)

    def add_sample(self, sample: ResourceSample) -> None:
        self.samples.append(sample)

    def replace_trial(self, trial: Trial) -> None:
        """Keep `trial` in place of the collected trial of its id (a vote cast after it ended)."""
        for index, kept in enumerate(self.trials):
            if kept.id == trial.id:
                self.trials[index] = trial

    def recording(self, title: str = "") -> Recording:
        """A recording of the trials so far (a `RecordingError` when there is none yet), with the samples taken
        from a little before the first of them."""
        kept = [(trial, span) for trial, span in zip(self.trials, self.spans, strict=False)
                if not all(side.recorded for side in trial.sides)]
        if not kept:
            raise RecordingError("Nothing to record yet: run a comparison first.")
        return Recording(trials=tuple(trial for trial, _ in kept), samples=tuple(self.samples), title=title,
                         spans=tuple(span for _, span in kept))


class SamplePlayback:
    """The recorded samples of one replayed trial, played onto this machine's clock: the sample taken at the
    trial's request is due at `started_at` (the replay's own request), the others `speed` times faster or
    slower around it, so the graphs and the text keep the recorded pace together. The values stay the recorded
    ones at any speed. The lead-in (samples before the request) is due at once, in the graphs' past.

    `advance(now)` moves the samples that are due into `snapshot()`, in the monitor's format, which is what
    the graphs draw from instead of the live monitor while the replay runs. Not thread-safe: one thread
    (the GUI's) advances and draws."""

    def __init__(self, samples: Sequence[ResourceSample], request_at: float, started_at: float,
                 speed: float = 1.0) -> None:
        if speed <= 0:
            raise ValueError("speed must be positive")
        self.recorded = tuple(samples)
        ordered = sorted(self.recorded, key=lambda sample: sample.timestamp)
        self._pending = deque(
            dataclasses.replace(sample, timestamp=started_at + (sample.timestamp - request_at) / speed)
            for sample in ordered)
        self.played: list[ResourceSample] = []
        self._snapshot: dict[str, npt.NDArray[Any]] = _snapshot_of([])

    @property
    def done(self) -> bool:
        return not self._pending

    def advance(self, now: float) -> list[ResourceSample]:
        """The samples due by `now` (they join the snapshot), oldest first."""
        due = []
        while self._pending and self._pending[0].timestamp <= now:
            due.append(self._pending.popleft())
        if due:
            self.played.extend(due)
            self._snapshot = _snapshot_of(self.played)
        return due

    def snapshot(self) -> dict[str, npt.NDArray[Any]]:
        return {name: values.copy() for name, values in self._snapshot.items()}

    def latest(self) -> ResourceSample | None:
        return self.played[-1] if self.played else None


def _snapshot_of(samples: Sequence[ResourceSample]) -> dict[str, npt.NDArray[Any]]:
    """Samples as `ResourceMonitor.snapshot()` gives them: one array per series, oldest first."""
    out: dict[str, npt.NDArray[Any]] = {
        name: np.array([getattr(sample, name) for sample in samples], dtype=np.float64) for name in SCALAR_SERIES}
    width = max((len(sample.system_cpu_per_core) for sample in samples), default=0)
    per_core = np.full((len(samples), width), np.nan)
    for row, sample in enumerate(samples):
        per_core[row, : len(sample.system_cpu_per_core)] = sample.system_cpu_per_core
    out["system_cpu_per_core"] = per_core
    out["power_measured"] = np.array([sample.power_provenance == "measured" for sample in samples], dtype=np.bool_)
    return out


# -- resource samples ---------------------------------------------------------------------------------------
def _sample_to_dict(sample: ResourceSample, base: float) -> dict[str, Any]:
    out = dataclasses.asdict(sample)
    out["timestamp"] = round(sample.timestamp - base, 6)
    out["engine_pid"] = None  # a process id means nothing on another run
    return {key: (None if isinstance(value, float) and not math.isfinite(value) else value)
            for key, value in out.items()}


def _sample_from_dict(data: Mapping[str, Any]) -> ResourceSample:
    values: dict[str, Any] = {}
    for item in dataclasses.fields(ResourceSample):
        value = data[item.name] if item.name not in ("engine_pid",) else None
        if item.name == "system_cpu_per_core":
            value = tuple(math.nan if v is None else float(v) for v in value or ())
        elif item.name == "power_provenance":
            value = "estimated" if value == "estimated" else "measured"
        elif item.name != "engine_pid":
            value = math.nan if value is None else float(value)
        values[item.name] = value
    return ResourceSample(**values)
