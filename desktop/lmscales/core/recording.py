"""Recordings: a demo's trials, with the time of every delta and the resource samples, saved to replay later.

A recording is a JSON file (documented in docs/scenarios.md, "Recordings"), versioned by `version`. Its trials
are the history's own `Trial.to_dict`, which already stores each delta's time relative to its side's submit,
so a replay streams at the recorded pace and shows the recorded figures. Resource samples are stored with
times relative to the first one. `machine` describes the computer the recording was made on, in words a
REPLAY banner can show (operating system, architecture, CPU count; never a host or user name).

A file that is not JSON, cut off, of another format or of a newer version raises `RecordingError` with a
message for the user.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import platform
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lmscales import __version__
from lmscales.core.files import write_atomically
from lmscales.core.sampler import ResourceSample
from lmscales.core.trial import TaskInput, Trial, TrialFormatError, now_iso

FORMAT = "lmscales-recording"
VERSION = 1
SUFFIX = ".lmsrec.json"


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

    @property
    def banner(self) -> str:
        """What the replay window says on top of everything: when, and on what, this was recorded."""
        when = self.created_at.replace("T", " ")[:16]
        return f"REPLAY of {when}, {self.machine}"

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
        try:
            samples = tuple(_sample_from_dict(raw) for raw in data.get("samples") or ())
        except (KeyError, TypeError, ValueError) as error:
            raise RecordingError(f"{source}: a resource sample is missing or has a bad field: {error}") from None
        return cls(trials=tuple(trials), samples=samples, created_at=str(data.get("created_at", "")),
                   machine=str(data.get("machine") or "an unknown machine"),
                   app_version=str(data.get("app_version", "")), title=str(data.get("title") or ""))


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
        data = json.loads(text)
    except json.JSONDecodeError as error:
        # The parser ran out of text: at the very end, or inside a string that never closes (a string cannot
        # hold a raw newline, so only the end of the file leaves one open).
        cut = error.pos >= len(text.rstrip()) - 1 or error.msg.startswith("Unterminated string")
        what = "cut off (truncated)" if cut else "damaged"
        raise RecordingError(f"{path.name} is {what}: not valid JSON ({error.msg}, line {error.lineno}). "
                             "It cannot be replayed.") from None
    return Recording.from_dict(data, path.name)


def from_trials(trials: Iterable[Trial], samples: Sequence[ResourceSample] = (), title: str = "") -> Recording:
    return Recording(trials=tuple(trials), samples=tuple(samples), title=title)


class Collector:
    """What a window has run since it opened, ready to be saved as a recording: every kept trial, and the
    resource samples (the last `max_samples`, so a long day of demos does not grow without bound).
    `add_sample` is called from the sampler's thread, `add_trial` from the session's: both only append."""

    def __init__(self, max_samples: int = 20_000) -> None:
        self.trials: list[Trial] = []
        self.samples: deque[ResourceSample] = deque(maxlen=max_samples)

    def add_trial(self, trial: Trial) -> None:
        self.trials.append(trial)

    def add_sample(self, sample: ResourceSample) -> None:
        self.samples.append(sample)

    def recording(self, title: str = "") -> Recording:
        """A recording of the trials so far (a `RecordingError` when there is none yet), with the samples taken
        from a little before the first of them."""
        trials = [trial for trial in self.trials if not all(side.recorded for side in trial.sides)]
        if not trials:
            raise RecordingError("Nothing to record yet: run a comparison first.")
        return Recording(trials=tuple(trials), samples=tuple(self.samples), title=title)


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
