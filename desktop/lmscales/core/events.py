"""Plain requests in, plain events out: the vocabulary every engine speaks.

A frozen `GenerationRequest` goes into an engine; frozen event dataclasses come out. They are
picklable, so the local engine's child process sends them over a pipe unchanged, and Qt signals
carry them to the GUI without dicts or widgets in between.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Literal, get_args

from lmscales.core.egress import Egress
from lmscales.core.generation import GENERATION_DEFAULTS, GenerationParams
from lmscales.core.generation import REASONING_EFFORTS as REASONING_EFFORTS
from lmscales.core.generation import ReasoningEffort as ReasoningEffort

Role = Literal["system", "user", "assistant"]
Provenance = Literal["measured", "estimated"]
DeltaKind = Literal["answer", "reasoning"]


@dataclass(frozen=True)
class Message:
    role: Role
    content: str


@dataclass(frozen=True)
class GenerationRequest:
    """Everything an engine needs for one generation; never mutated after it is made."""

    messages: tuple[Message, ...]
    max_tokens: int = GENERATION_DEFAULTS.max_tokens
    temperature: float = GENERATION_DEFAULTS.temperature
    top_p: float = GENERATION_DEFAULTS.top_p
    seed: int | None = GENERATION_DEFAULTS.seed
    stop: tuple[str, ...] = ()
    reasoning_effort: ReasoningEffort | None = None  # sent only where set: models that think take it

    def __post_init__(self) -> None:
        if not self.messages:
            raise ValueError("a request needs at least one message")
        if self.max_tokens < 1:
            raise ValueError("max_tokens must be at least 1")
        if not 0.0 <= self.top_p <= 1.0:
            raise ValueError("top_p must be between 0 and 1")
        if self.temperature < 0.0:
            raise ValueError("temperature must not be negative")
        if self.reasoning_effort is not None and self.reasoning_effort not in REASONING_EFFORTS:
            raise ValueError(f"reasoning_effort must be one of {', '.join(REASONING_EFFORTS)}")

    @classmethod
    def from_params(cls, messages: tuple[Message, ...], params: GenerationParams) -> GenerationRequest:
        """`messages` generated with the comparison's parameters."""
        return cls(messages, max_tokens=params.max_tokens, temperature=params.temperature, top_p=params.top_p,
                   seed=params.seed, reasoning_effort=params.reasoning_effort)


@dataclass(frozen=True)
class TextDelta:
    """A piece of generated text; `timestamp` is `time.perf_counter()` when it was made (the local engine's
    child stamps it there; a remote stream's arrival is its making, as far as this computer can know).

    `kind` is "reasoning" for a model's thinking streamed before (or beside) its answer
    (`delta.reasoning_content` / `delta.reasoning`); it is shown apart and never part of the answer text.
    """

    text: str
    timestamp: float
    kind: DeltaKind = "answer"


@dataclass(frozen=True)
class NativeTimings:
    """llama.cpp's own account of a generation (`llama_perf_context`), in milliseconds."""

    prompt_eval_ms: float
    prompt_tokens: int
    eval_ms: float
    eval_tokens: int

    @property
    def decode_rate(self) -> float | None:
        if self.eval_tokens <= 0 or self.eval_ms <= 0:
            return None
        return self.eval_tokens / (self.eval_ms / 1000.0)

    @property
    def prefill_rate(self) -> float | None:
        if self.prompt_tokens <= 0 or self.prompt_eval_ms <= 0:
            return None
        return self.prompt_tokens / (self.prompt_eval_ms / 1000.0)


@dataclass(frozen=True)
class Finished:
    """The end of a generation, with counts and the timestamps metrics are computed from.

    `submitted_at` is t0 (the request handed to the engine); `deltas` are (timestamp, text) of every
    delta received. Token counts carry their provenance: counted by the engine's own tokenizer or
    reported by a server ("measured") or guessed from text ("estimated").
    """

    prompt_tokens: int
    prompt_tokens_provenance: Provenance
    output_tokens: int
    output_tokens_provenance: Provenance
    submitted_at: float
    deltas: tuple[tuple[float, str], ...]
    stop_reason: Literal["stop", "length", "cancelled"]
    native: NativeTimings | None = None
    trimmed_messages: int = 0
    bytes_received: int | None = None
    chunks: int = 1  # >1: a map-reduce summary over that many chunks of the input
    # A reasoning model's thinking: its deltas (timestamp, text), and its tokens, counted apart from the
    # answer's. `output_tokens` stays the answer's count; what was billed is output + reasoning tokens.
    reasoning_deltas: tuple[tuple[float, str], ...] = ()
    reasoning_tokens: int = 0
    reasoning_tokens_provenance: Provenance = "measured"
    # Request parameters the model did not take (refused, then left out or renamed): the comparison is not
    # matched on them, and the pane says so.
    ignored_parameters: tuple[str, ...] = ()
    # How many network reads carried the streamed text (None where there is no network): 1 means the whole
    # answer arrived at once, so the gaps between deltas say nothing about the model's speed.
    stream_reads: int | None = None
    # The local engine: prompt tokens whose KV cache was kept from the previous run (a chat's earlier turns)
    # rather than evaluated again, and the threads this run decoded with (they follow the machine's load).
    cached_prompt_tokens: int = 0
    threads: int | None = None
    # The local engine stamps each delta in its own process as the token is made (`deltas`); these are the
    # same deltas' arrival times in this process, kept for the benchmark that compares the two. Not saved.
    delta_arrivals: tuple[float, ...] = ()

    @property
    def text(self) -> str:
        return "".join(text for _, text in self.deltas)

    @property
    def reasoning_text(self) -> str:
        return "".join(text for _, text in self.reasoning_deltas)

    @property
    def billed_output_tokens(self) -> int:
        """Answer plus reasoning tokens: providers bill the hidden thinking as output."""
        return self.output_tokens + self.reasoning_tokens


@dataclass(frozen=True)
class EngineError:
    """Something went wrong; `message` is written for the user, `kind` for code and tests."""

    kind: Literal[
        # local engine
        "crashed", "hung", "model", "input_too_long", "busy", "internal", "not_loaded",
        # remote engine
        "auth", "forbidden", "not_found", "bad_request", "rate_limited", "server", "timeout",
        "dns", "refused", "connection", "incomplete", "malformed", "quota", "context_length", "not_sse",
    ]
    message: str
    partial_text: str = ""
    details: dict[str, str] = field(default_factory=dict)


NoticeKind = Literal[
    "map_reduce_part",  # a text longer than the context: summarizing `part` of `parts` (in `round`)
    "map_reduce_combine",  # combining the `parts` partial summaries into one
    "rate_limited",  # `host` answered 429: retry `attempt` of `attempts` after `retry_after` seconds
    "parameter_dropped",  # `model` at `host` refused `parameter`: the run goes on without it
    "parameter_renamed",  # ... and takes `replacement` instead (OpenAI's max_completion_tokens)
    "closed_after_answer",  # `host` dropped the connection after a complete answer: nothing was lost
    "stopped_before_start",  # a Stop came before this side's turn
    "info",  # anything else, and every notice of a trial written before notices had kinds
]
NOTICE_KINDS: tuple[str, ...] = get_args(NoticeKind)
# What is true only while it happens: the finished side's note leaves these out.
PROGRESS_NOTICES: frozenset[str] = frozenset({"map_reduce_part", "map_reduce_combine"})


@dataclass(frozen=True)
class Notice:
    """Something the user should know while a run goes on (e.g. "rate limited, retrying in 2 s").

    Code reads `kind` and the fields that go with it; `message` is the same facts as a sentence for people
    (made in `lmscales.core.notices`), shown as it is and never parsed. Fields a kind does not use are None.
    """

    message: str
    timestamp: float
    kind: NoticeKind = "info"
    host: str | None = None
    model: str | None = None
    attempt: int | None = None
    attempts: int | None = None
    retry_after: float | None = None  # seconds
    part: int | None = None  # 1-based
    parts: int | None = None
    round: int | None = None  # a map-reduce's round (2 and up: the partial summaries themselves were too long)
    parameter: str | None = None
    replacement: str | None = None

    @property
    def progress(self) -> bool:
        """A step of a long run, true only while it happens."""
        return self.kind in PROGRESS_NOTICES

    def as_dict(self) -> dict[str, Any]:
        """The notice as a trial keeps it: its kind, sentence and fields; not the timestamp, which is this
        process's clock."""
        return {name: value for name, value in dataclasses.asdict(self).items()
                if name != "timestamp" and value is not None}

    @classmethod
    def from_dict(cls, data: Any) -> Notice:
        """A stored notice; a plain string (a trial written before notices had kinds) is an "info" notice."""
        if isinstance(data, str):
            return cls(data, 0.0)
        if not isinstance(data, dict):
            return cls("", 0.0)
        kind = data.get("kind")
        fields = {key: value for key, value in data.items() if _notice_field_fits(key, value)}
        return cls(str(data.get("message", "")), 0.0, kind if kind in NOTICE_KINDS else "info", **fields)


_NOTICE_TEXT_FIELDS = frozenset({"host", "model", "parameter", "replacement"})
_NOTICE_COUNT_FIELDS = frozenset({"attempt", "attempts", "part", "parts", "round"})


def _notice_field_fits(name: str, value: object) -> bool:
    """A stored notice's field of the type it has (a damaged or hand-edited line's field of another type is left
    out: a notice is read, not computed with, but code that reads `attempt` must get a number)."""
    if name in _NOTICE_TEXT_FIELDS:
        return isinstance(value, str)
    if name in _NOTICE_COUNT_FIELDS:
        return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 1_000_000
    if name == "retry_after":
        return isinstance(value, (int, float)) and not isinstance(value, bool) and 0 <= value <= 86_400
    return False


@dataclass(frozen=True)
class Sent:
    """What one generation of a remote engine sent and received over the network (`lmscales.core.egress`), just
    before its `Finished` or `EngineError` (a failed request left this computer too)."""

    egress: Egress


Event = TextDelta | Finished | EngineError | Notice | Sent


EngineKind = Literal["local", "remote"]
# Where a model runs: llama.cpp on this CPU (a process of ours), a server on this computer, an API beyond it.
ModelPlace = Literal["this_cpu", "this_computer", "remote"]
# Where a side runs now: as above, or a recording played back (no model runs, nothing leaves this computer).
Where = Literal["this_cpu", "this_computer", "remote", "recording"]


@dataclass(frozen=True)
class EngineInfo:
    """What an engine says about itself, so that no caller switches on its class.

    `kind` says where it runs ("local": llama.cpp on this CPU; "remote": an OpenAI-compatible endpoint,
    which may itself be a server on this computer). `host` is a bare host[:port], never a URL with
    credentials. `threads` exists where it applies (local). `context_tokens` is what a prompt plus its
    answer may take: the session trims chat history and cuts long summaries by it.
    """

    kind: EngineKind
    model: str  # the name a user recognises (display name of a GGUF, model id of an endpoint)
    context_tokens: int
    host: str | None = None
    endpoint_name: str | None = None  # remote: the preset ("OpenAI", "Ollama", ...)
    loopback: bool = True  # False only for an endpoint beyond this computer
    threads: int | None = None
    path: str | None = None  # local: the GGUF file
    quantization: str | None = None
    parameters: str | None = None  # "135M"
    file_size_bytes: int | None = None
    license: str | None = None
    recorded: bool = False  # a replay of a recording: no model runs, nothing leaves this computer
    # False: a local model file without a chat template, so it is prompted as ChatML (which a base model does
    # not follow). A server formats its own prompts; trials written before this field default to True.
    has_chat_template: bool = True
    # Local, for the method card (`lmscales.core.method_card`): the instruction sets of the CPU code llama.cpp
    # loaded, llama.cpp's build, and the sampling beside the shared parameters; the engine process reports them.
    cpu_code: str | None = None
    llama_build: str | None = None
    sampler: str | None = None

    @property
    def model_runs(self) -> ModelPlace:
        """Where the model runs (a recording's: where it ran when it was recorded), which says what it costs:
        CPU-seconds on this CPU, electricity for a server on this computer, money for an API."""
        if self.kind == "local":
            return "this_cpu"
        return "this_computer" if self.loopback else "remote"

    @property
    def where(self) -> Where:
        """Where this side runs now: where its model runs, or "recording" for a replay."""
        return "recording" if self.recorded else self.model_runs

    @property
    def on_this_computer(self) -> bool:
        """Nothing this side does now leaves this computer, so offline mode lets it run."""
        return self.where != "remote"

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> EngineInfo:
        known = {field.name for field in dataclasses.fields(cls)}
        return cls(**{key: value for key, value in data.items() if key in known})
