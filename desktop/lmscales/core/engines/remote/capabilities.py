"""What LM Scales knows about remote providers and models: which name a token limit goes by, which models
think (and so take `reasoning_effort`), and which parameters a model refused (`ParameterMemory`).

Plain knowledge, no HTTP and no Qt: the generation panel asks it whether to offer a thinking effort
without loading the HTTP engine, and the engine asks it what to send (`request_body`).
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable
from typing import Any

from lmscales.core.events import GenerationRequest

OPENAI_HOSTS = ("api.openai.com",)
# What the token limit is called where the model refuses the other name; every other parameter is left out.
TOKEN_LIMITS = ("max_tokens", "max_completion_tokens")


def takes_max_completion_tokens(host: str) -> bool:
    """OpenAI's own API: current models there refuse `max_tokens` and take `max_completion_tokens`."""
    name = host.rsplit(":", 1)[0].lower()
    return name in OPENAI_HOSTS or name.endswith(".openai.com")


def token_limit_parameter(host: str) -> str:
    """The name this host takes the token limit by, before any model has refused it."""
    return "max_completion_tokens" if takes_max_completion_tokens(host) else "max_tokens"


def request_body(request: GenerationRequest, host: str, model: str,
                 refused: dict[str, str | None]) -> tuple[dict[str, Any], tuple[str, ...]]:
    """The chat completions body for `model` at `host`, and the parameters left out because the model refused
    them before (`refused`, from the `ParameterMemory`); a refused token limit goes by its replacement."""
    arguments: dict[str, Any] = {
        "model": model,
        "messages": [{"role": m.role, "content": m.content} for m in request.messages],
        token_limit_parameter(host): request.max_tokens,
        "temperature": request.temperature,
        "top_p": request.top_p,
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    if request.seed is not None:
        arguments["seed"] = request.seed
    if request.stop:
        arguments["stop"] = list(request.stop)
    if request.reasoning_effort is not None:
        arguments["reasoning_effort"] = request.reasoning_effort
    ignored: list[str] = []
    for parameter, replacement in refused.items():
        if parameter in arguments and parameter not in ("model", "messages", "stream"):
            value = arguments.pop(parameter)
            if replacement is not None and replacement not in refused:
                arguments[replacement] = value
            else:
                ignored.append(parameter)
    return arguments, tuple(ignored)


# Model families that think before they answer and take `reasoning_effort` (OpenAI's GPT-5 and o-series,
# gpt-oss wherever it is served, DeepSeek's reasoner, Qwen 3, QwQ, Magistral, Grok 3 mini, Gemini 2.5 and 3
# on Google's OpenAI-compatible endpoint), and any name that says it reasons or thinks. A name a router
# prefixes ("openai/gpt-oss-120b") counts by its last part.
THINKING_MODELS = re.compile(r"^(gpt-5|o[134](-|$)|gpt-oss|deepseek-r1|qwen3|magistral|grok-3-mini|gemini-(2\.5|3))"
                             r"|qwq|reasoning|reasoner|thinking")


def takes_reasoning_effort(model: str) -> bool:
    """Whether `model` is one that thinks, so a choice of how hard is worth showing. A model this does not know
    still gets the parameter when the user sets it; one that refuses it runs without it (and says so)."""
    return bool(THINKING_MODELS.search(model.rsplit("/", 1)[-1].strip().lower()))


OnLearned = Callable[[str, str, str, "str | None"], None]


class ParameterMemory:
    """Which request parameters a model refused, per endpoint (host) and model: {parameter: replacement or
    None (left out)}.

    There is no shared default: whoever owns the engines (the window's settings controller, a CLI command
    for its run) makes one memory and hands it to each engine it builds, and `on_learned` lets the settings
    keep what it learns for the next session."""

    def __init__(self, known: dict[tuple[str, str], dict[str, str | None]] | None = None,
                 on_learned: OnLearned | None = None) -> None:
        self._lock = threading.Lock()
        self._refused: dict[tuple[str, str], dict[str, str | None]] = {
            key: dict(value) for key, value in (known or {}).items()
        }
        self.on_learned = on_learned

    def refused(self, host: str, model: str) -> dict[str, str | None]:
        with self._lock:
            return dict(self._refused.get((host, model), {}))

    def learn(self, host: str, model: str, parameter: str, replacement: str | None) -> None:
        with self._lock:
            entry = self._refused.setdefault((host, model), {})
            if parameter in entry and entry[parameter] == replacement:
                return
            entry[parameter] = replacement
        if self.on_learned is not None:
            try:
                self.on_learned(host, model, parameter, replacement)
            except Exception:  # keeping it for next time is a convenience; the run goes on
                logging.getLogger(__name__).exception("could not keep a refused parameter")

    def forget(self) -> None:
        with self._lock:
            self._refused.clear()
