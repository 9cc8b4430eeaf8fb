"""A comparison as data: one input sent to one or two models, and what came back.

A `Trial` is frozen and self-contained: the task input (text and options), the generation parameters, and
per side a `SideResult` (what the engine said about itself, the whole answer, how it ended, its metrics,
cost and resource summary). The window, the CLI, the history file, evaluation and demos all read and write
this one type; `to_dict`/`from_dict` is its one JSON schema (`SCHEMA_VERSION`).

What may leave the machine: every string a trial writes out passes `secrets.redact`, an endpoint is a bare
host[:port], and no key is ever part of a trial. Delta timestamps are stored relative to the side's submit
time, so a trial read back computes the same metrics it was written with.
"""

from __future__ import annotations

import dataclasses
import math
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, get_args

from lmscales import __version__
from lmscales.core import metrics
from lmscales.core.api_energy import ApiEnergy
from lmscales.core.egress import Egress
from lmscales.core.events import (
    EngineError,
    EngineInfo,
    Finished,
    Message,
    NativeTimings,
    Notice,
    Provenance,
)
from lmscales.core.generation import GenerationParams as GenerationParams
from lmscales.core.generation import RunMode as RunMode
from lmscales.core.pricing import Cost, Price
from lmscales.core.quality.checks import Check
from lmscales.core.quality.scores import Score
from lmscales.core.resource_monitor import RunResourceSummary
from lmscales.core.secrets import redact
from lmscales.core.tasks import TASKS, SummaryLength, TaskName
from lmscales.core.votes import BlindOrder, Vote

SCHEMA_VERSION = 1
SideStatus = Literal["done", "stopped", "length", "error", "incomplete", "skipped"]
_STATUS_BY_STOP_REASON: dict[str, SideStatus] = {"stop": "done", "length": "length", "cancelled": "stopped"}


class TrialFormatError(ValueError):
    """A stored trial that cannot be read; the message says what is wrong."""


def now_iso() -> str:
    return datetime.now().astimezone().isoformat(timespec="seconds")


def new_trial_id() -> str:
    return uuid.uuid4().hex[:12]


@dataclass(frozen=True)
class TaskInput:
    """What the user asked: the task, its text and options. `messages` is a whole chat conversation given at
    once (the CLI's JSON input); otherwise the session builds the messages from `text` and each side's
    own chat history. `reference` is an expected answer, where one is known (evaluation sets, scenarios)."""

    task: TaskName
    text: str
    system_prompt: str | None = None
    target_lang: str | None = None  # translate; summarize: the text's language, which picks its score
    source_lang: str | None = None  # translate; None or "auto": detected by the model
    summary_length: SummaryLength | None = None  # summarize
    messages: tuple[Message, ...] | None = None
    reference: str | None = None
    key_facts: tuple[str, ...] = ()  # summarize: facts a good summary keeps
    answers: tuple[str, ...] = ()  # chat: accepted short answers

    def __post_init__(self) -> None:
        if self.task not in TASKS:
            raise ValueError(f"task must be one of {', '.join(TASKS)}, not {self.task!r}")

    def to_dict(self) -> dict[str, Any]:
        out = dataclasses.asdict(self)
        out["messages"] = [dataclasses.asdict(m) for m in self.messages] if self.messages is not None else None
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TaskInput:
        messages = data.get("messages")
        return cls(
            task=data["task"],
            text=str(data.get("text", "")),
            system_prompt=data.get("system_prompt"),
            target_lang=data.get("target_lang"),
            source_lang=data.get("source_lang"),
            summary_length=data.get("summary_length"),
            messages=tuple(Message(m["role"], m["content"]) for m in messages) if messages is not None else None,
            reference=data.get("reference"),
            key_facts=tuple(data.get("key_facts") or ()),
            answers=tuple(data.get("answers") or ()),
        )

    @property
    def prompt_text(self) -> str:
        """The user's own words: the text, or the last user turn of a whole conversation."""
        if self.messages:
            users = [m.content for m in self.messages if m.role == "user"]
            if users:
                return users[-1]
        return self.text


@dataclass(frozen=True)
class SideResult:
    """One side's part of a trial. `finished` or `error` says how it ended (neither: skipped, with
    `skipped` giving the reason). `text` is the answer as the user saw it."""

    side: str  # the slot: "small" or "large"
    label: str  # what the user calls that side ("Small", "Large", or a name of their own)
    engine: EngineInfo | None
    text: str
    started_at: str  # wall clock, ISO 8601
    finished: Finished | None = None
    error: EngineError | None = None
    skipped: str | None = None
    cost: Cost | None = None
    cpu_seconds: float | None = None
    resources: RunResourceSummary | None = None
    notices: tuple[Notice, ...] = ()  # what the run said on the way (`Notice.kind` and its fields)
    recorded: bool = False  # replayed from a recording, not generated now
    checks: tuple[Check, ...] = ()  # reference-free quality checks of the answer
    scores: tuple[Score, ...] = ()  # against the input's reference, where it has one
    # An endpoint's model whose energy was not measured here: EcoLogits' estimate, or why there is none.
    api_energy: ApiEnergy | None = None
    # What left this computer for this side: host, bytes each way, the request as sent (`lmscales.core.egress`).
    egress: Egress | None = None

    @property
    def status(self) -> SideStatus:
        if self.skipped is not None:
            return "skipped"
        if self.error is not None:
            return "incomplete" if self.error.kind == "incomplete" else "error"
        if self.finished is not None:
            return _STATUS_BY_STOP_REASON[self.finished.stop_reason]
        return "error"

    @property
    def ok(self) -> bool:
        return self.finished is not None and self.error is None

    @property
    def metrics(self) -> metrics.RunMetrics | None:
        return metrics.compute(self.finished) if self.finished is not None else None

    @property
    def model(self) -> str:
        return self.engine.model if self.engine is not None else "?"

    @property
    def without_chat_template(self) -> bool:
        """A local model file without a chat template answered, prompted as ChatML (see `EngineInfo`)."""
        return self.engine is not None and not self.engine.has_chat_template

    @property
    def energy_j(self) -> float | None:
        return self.resources.energy.value if self.resources is not None else None

    def to_dict(self) -> dict[str, Any]:
        computed = self.metrics
        out: dict[str, Any] = _clean({
            "side": self.side,
            "label": self.label,
            "status": self.status,
            "engine": self.engine.as_dict() if self.engine is not None else None,
            "started_at": self.started_at,
            "text": self.text,
            "finished": _finished_to_dict(self.finished) if self.finished is not None else None,
            "error": _error_to_dict(self.error) if self.error is not None else None,
            "skipped": self.skipped,
            "metrics": computed.as_dict() if computed is not None else None,
            "cost": {**self.cost.as_dict(), "model": self.cost.price.model if self.cost.price else None}
            if self.cost is not None else None,
            "cpu_seconds": self.cpu_seconds,
            "resources": _resources_to_dict(self.resources) if self.resources is not None else None,
            "notices": [notice.as_dict() for notice in self.notices],
            "recorded": self.recorded,
            "checks": [dataclasses.asdict(check) for check in self.checks],
            "scores": [dataclasses.asdict(score) for score in self.scores],
            "api_energy": self.api_energy.as_dict() if self.api_energy is not None else None,
            "egress": self.egress.to_dict() if self.egress is not None else None,
        })
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SideResult:
        engine = data.get("engine")
        finished = data.get("finished")
        error = data.get("error")
        cost = data.get("cost")
        resources = data.get("resources")
        return cls(
            side=str(data["side"]),
            label=str(data.get("label") or data["side"]),
            engine=EngineInfo.from_dict(engine) if engine else None,
            text=str(data.get("text", "")),
            started_at=str(data.get("started_at", "")),
            finished=_finished_from_dict(finished) if finished else None,
            error=EngineError(error["kind"], error["message"], error.get("partial_text", ""),
                              dict(error.get("details") or {})) if error else None,
            skipped=data.get("skipped"),
            cost=_cost_from_dict(cost) if cost else None,
            cpu_seconds=data.get("cpu_seconds"),
            resources=_resources_from_dict(resources) if resources else None,
            notices=tuple(Notice.from_dict(notice) for notice in data.get("notices") or ()),
            recorded=bool(data.get("recorded", False)),
            checks=tuple(Check(c["name"], c.get("passed"), c.get("score"), str(c.get("detail", "")))
                         for c in data.get("checks") or ()),
            scores=tuple(Score(s["name"], float(s["value"]), str(s.get("signature", "")), str(s.get("detail", "")))
                         for s in data.get("scores") or ()),
            api_energy=ApiEnergy.from_dict(data["api_energy"]) if data.get("api_energy") else None,
            egress=Egress.from_dict(data["egress"]) if data.get("egress") else None,  # none before it was kept
        )


@dataclass(frozen=True)
class EvalRef:
    """Where a trial of an evaluation belongs: the set, the item's id and the repeat (from 1; 0 for a warm-up);
    `warmup` for a run made before measuring, to be discarded."""

    set_name: str
    item_id: str
    repeat: int = 1
    warmup: bool = False

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> EvalRef:
        return cls(str(data["set_name"]), str(data["item_id"]), int(data.get("repeat", 1)),
                   bool(data.get("warmup", False)))

    @classmethod
    def from_legacy_tags(cls, tags: Sequence[str]) -> EvalRef | None:
        """A trial written before this type kept its evaluation as tags ("eval:SET", "item:ID", "repeat:N");
        read here, in the one place that knows that old form."""
        found = {prefix: tag[len(prefix):] for tag in tags for prefix in _LEGACY_EVAL_TAGS if tag.startswith(prefix)}
        if "eval:" not in found or "item:" not in found:
            return None
        repeat = found.get("repeat:", "")
        return cls(found["eval:"], found["item:"], int(repeat) if repeat.isdigit() else 0)


_LEGACY_EVAL_TAGS = ("eval:", "item:", "repeat:")


@dataclass(frozen=True)
class Trial:
    """One input, sent to the chosen sides with the same parameters, and what came back."""

    id: str
    created_at: str  # wall clock, ISO 8601
    input: TaskInput
    params: GenerationParams
    sides: tuple[SideResult, ...]
    mode: RunMode = "parallel"
    chat_turn: int = 0  # chat: how many turns came before this one in the conversation
    app_version: str = __version__
    tags: tuple[str, ...] = field(default=())  # free labels of the user's or a scenario's
    evaluation: EvalRef | None = None  # a trial of an evaluation run: its set, item and repeat
    blind: BlindOrder | None = None  # shown blind as A and B, in this seeded order (`lmscales.core.votes`)
    vote: Vote | None = None  # a person's blind verdict on it (kept when the person votes, after the trial)

    def __post_init__(self) -> None:
        if self.mode not in get_args(RunMode):
            raise ValueError(f"mode must be parallel or sequential, not {self.mode!r}")

    @property
    def task(self) -> TaskName:
        return self.input.task

    def side(self, name: str) -> SideResult | None:
        for result in self.sides:
            if result.side == name:
                return result
        return None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = _clean({
            "schema_version": SCHEMA_VERSION,
            "id": self.id,
            "created_at": self.created_at,
            "app_version": self.app_version,
            "task": self.input.task,
            "input": self.input.to_dict(),
            "params": self.params.as_dict(),
            "mode": self.mode,
            "chat_turn": self.chat_turn,
            "tags": list(self.tags),
            "evaluation": self.evaluation.as_dict() if self.evaluation is not None else None,
            "blind": self.blind.to_dict() if self.blind is not None else None,
            "vote": self.vote.to_dict() if self.vote is not None else None,
            "sides": {result.side: result.to_dict() for result in self.sides},
        })
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Trial:
        """A trial from `to_dict` output; a `TrialFormatError` saying what is wrong for anything else."""
        if not isinstance(data, Mapping):
            raise TrialFormatError("a trial must be a JSON object")
        version = data.get("schema_version")
        if version != SCHEMA_VERSION:
            if isinstance(version, int) and version > SCHEMA_VERSION:
                raise TrialFormatError(f"written by a newer LM Scales (trial schema {version}; this version reads "
                                       f"{SCHEMA_VERSION}). Update LM Scales to read it.")
            raise TrialFormatError(f"not a trial of schema version {SCHEMA_VERSION}")
        try:
            sides = data["sides"]
            tags = tuple(str(tag) for tag in data.get("tags") or ())
            stored = data.get("evaluation")
            evaluation = EvalRef.from_dict(stored) if stored else None
            if "evaluation" not in data:  # a line from before the field: an evaluation's were tags then
                evaluation = EvalRef.from_legacy_tags(tags)
                if evaluation is not None:
                    tags = tuple(tag for tag in tags if not tag.startswith(_LEGACY_EVAL_TAGS))
            if not isinstance(sides, Mapping):
                raise TypeError("sides must be an object")
            return cls(
                id=str(data["id"]),
                created_at=str(data["created_at"]),
                input=TaskInput.from_dict(data["input"]),
                params=GenerationParams.from_dict(data.get("params") or {}),
                sides=tuple(SideResult.from_dict(side) for side in sides.values()),
                mode=data.get("mode", "parallel"),
                chat_turn=int(data.get("chat_turn", 0)),
                app_version=str(data.get("app_version", "")),
                tags=tags,
                evaluation=evaluation,
                blind=BlindOrder.from_dict(data["blind"]) if data.get("blind") else None,  # none before votes
                vote=Vote.from_dict(data["vote"]) if data.get("vote") else None,
            )
        except (KeyError, TypeError, ValueError, AttributeError) as error:
            raise TrialFormatError(f"a trial is missing or has a bad field: {error}") from None


# -- serialisation helpers ------------------------------------------------------------------------------
def _clean(value: Any) -> Any:
    """What may leave the machine: strings redacted, NaN and infinity as null, tuples as lists."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, Mapping):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    return value


def _finished_to_dict(finished: Finished) -> dict[str, Any]:
    out = dataclasses.asdict(finished)
    base = finished.submitted_at
    # Times relative to the submit instant (perf_counter values mean nothing in another process).
    out["submitted_at"] = 0.0
    out["deltas"] = [[round(at - base, 6), text] for at, text in finished.deltas]
    out["reasoning_deltas"] = [[round(at - base, 6), text] for at, text in finished.reasoning_deltas]
    out["ignored_parameters"] = list(finished.ignored_parameters)
    del out["delta_arrivals"]  # a benchmark's detail, in this process's clock
    return out


# The figures of a stored `Finished` and the type each must have: a damaged line is refused when it is read,
# never later when its metrics are computed for the history view, a report or an export.
_FINISHED_NUMBERS: dict[str, tuple[type, ...]] = {
    "prompt_tokens": (int,), "output_tokens": (int,), "submitted_at": (int, float), "trimmed_messages": (int,),
    "chunks": (int,), "reasoning_tokens": (int,), "cached_prompt_tokens": (int,),
}
_FINISHED_OPTIONAL_NUMBERS = {"bytes_received": (int,), "stream_reads": (int,), "threads": (int,)}
_PROVENANCES = ("measured", "estimated")


def _number(name: str, value: Any, kinds: tuple[type, ...]) -> Any:
    finite = not isinstance(value, float) or math.isfinite(value)
    if isinstance(value, bool) or not isinstance(value, kinds) or not finite:
        raise ValueError(f"finished.{name} must be a number, not {value!r}")
    return value


def _finished_from_dict(data: Mapping[str, Any]) -> Finished:
    known = {f.name for f in dataclasses.fields(Finished)}
    values = {k: v for k, v in data.items() if k in known}
    for name, kinds in _FINISHED_NUMBERS.items():
        if name in values:
            values[name] = _number(name, values[name], kinds)
    for name, kinds in _FINISHED_OPTIONAL_NUMBERS.items():
        if values.get(name) is not None:
            values[name] = _number(name, values[name], kinds)
    if not isinstance(values.get("stop_reason"), str) or values["stop_reason"] not in _STATUS_BY_STOP_REASON:
        raise ValueError(f"finished.stop_reason must be one of {', '.join(_STATUS_BY_STOP_REASON)}")
    for name in ("prompt_tokens_provenance", "output_tokens_provenance", "reasoning_tokens_provenance"):
        if name in values and values[name] not in _PROVENANCES:
            raise ValueError(f"finished.{name} must be measured or estimated")
    values["deltas"] = tuple((float(at), str(text)) for at, text in data.get("deltas") or ())
    values["reasoning_deltas"] = tuple((float(at), str(text)) for at, text in data.get("reasoning_deltas") or ())
    values["ignored_parameters"] = tuple(str(name) for name in data.get("ignored_parameters") or ())
    native = data.get("native")
    if native:
        values["native"] = NativeTimings(**{name: _number(f"native.{name}", native[name], (int, float))
                                            for name in ("prompt_eval_ms", "prompt_tokens", "eval_ms", "eval_tokens")})
    else:
        values["native"] = None
    return Finished(**values)


def _error_to_dict(error: EngineError) -> dict[str, Any]:
    return {"kind": error.kind, "message": error.message, "partial_text": error.partial_text,
            "details": dict(error.details)}


def _cost_from_dict(data: Mapping[str, Any]) -> Cost:
    price = None
    if data.get("source") is not None and data.get("input_per_million") is not None:
        price = Price(str(data.get("model") or ""), float(data["input_per_million"]),
                      float(data["output_per_million"]), str(data["source"]), data.get("taken"))
    provenance: Provenance = "estimated" if data.get("provenance") == "estimated" else "measured"
    return Cost(data.get("usd"), provenance, price)


def _figure_to_dict(figure: metrics.Figure) -> dict[str, Any]:
    return {"value": figure.value, "unit": figure.unit, "provenance": figure.provenance, "how": figure.how}


def _figure_from_dict(data: Mapping[str, Any]) -> metrics.Figure:
    return metrics.Figure(data.get("value"), str(data.get("unit", "")), data.get("provenance", "measured"),
                          str(data.get("how", "")))


_RESOURCE_FIGURES = ("engine_peak_rss", "engine_mean_cpu", "engine_cpu_seconds", "energy")


def _resources_to_dict(summary: RunResourceSummary) -> dict[str, Any]:
    out: dict[str, Any] = {"seconds": summary.t_end - summary.t_start, "samples": summary.samples}
    for name in _RESOURCE_FIGURES:
        out[name] = _figure_to_dict(getattr(summary, name))
    return out


def _resources_from_dict(data: Mapping[str, Any]) -> RunResourceSummary:
    figures = {name: _figure_from_dict(data.get(name) or {}) for name in _RESOURCE_FIGURES}
    return RunResourceSummary(0.0, float(data.get("seconds") or 0.0), int(data.get("samples") or 0), **figures)


def skipped_side(side: str, label: str, engine: EngineInfo | None, reason: str) -> SideResult:
    return SideResult(side=side, label=label, engine=engine, text="", started_at=now_iso(), skipped=reason)


def sides_in_order(results: Sequence[SideResult], order: Sequence[str]) -> tuple[SideResult, ...]:
    rank = {name: index for index, name in enumerate(order)}
    return tuple(sorted(results, key=lambda r: rank.get(r.side, len(rank))))
