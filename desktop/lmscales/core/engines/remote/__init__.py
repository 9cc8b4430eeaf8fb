"""The large side behind an OpenAI-compatible API, in parts (the way qutebrowser splits its status bar):

- `capabilities`: what LM Scales knows of providers and models (token limit names, thinking models, the
  `ParameterMemory` of refused parameters); no HTTP, no Qt;
- `options`: `RemoteOptions`, the timeouts and retries the user sets;
- `transport`: the byte-counting httpx2 transport, the system proxy and the SDK client;
- `errors`: what went wrong, in a sentence a user can act on (`explain`);
- `stream`: the typed messages the pump thread hands the reading generator;
- `engine`: `RemoteEngine` itself.

`from lmscales.core.engines.remote import X` works for every public name. The HTTP half (the `openai` SDK
and httpx2, slow to import) loads when one of its names is first asked for, so a caller that needs only
the knowledge or the options (the generation panel, the settings) does not pay for it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from lmscales.core.engines.remote.capabilities import (
    OPENAI_HOSTS,
    ParameterMemory,
    takes_max_completion_tokens,
    takes_reasoning_effort,
)
from lmscales.core.engines.remote.options import RemoteOptions

if TYPE_CHECKING:
    from lmscales.core.engines.remote.engine import RemoteEngine, estimate_prompt_tokens
    from lmscales.core.engines.remote.errors import RemoteError, explain, refused_parameter, retry_after_seconds
    from lmscales.core.engines.remote.transport import NO_KEY_PLACEHOLDER

__all__ = [
    "NO_KEY_PLACEHOLDER", "OPENAI_HOSTS", "ParameterMemory", "RemoteEngine", "RemoteError", "RemoteOptions",
    "estimate_prompt_tokens", "explain", "refused_parameter", "retry_after_seconds", "takes_max_completion_tokens",
    "takes_reasoning_effort",
]

_FROM_ENGINE = ("RemoteEngine", "estimate_prompt_tokens")
_FROM_ERRORS = ("RemoteError", "explain", "refused_parameter", "retry_after_seconds")
_FROM_TRANSPORT = ("NO_KEY_PLACEHOLDER",)


def __getattr__(name: str) -> object:
    """The HTTP half's names, imported on first use (PEP 562). Plain import statements, so PyInstaller's
    analysis still sees the modules."""
    if name in _FROM_ENGINE:
        from lmscales.core.engines.remote import engine

        value: object = getattr(engine, name)
    elif name in _FROM_ERRORS:
        from lmscales.core.engines.remote import errors

        value = getattr(errors, name)
    elif name in _FROM_TRANSPORT:
        from lmscales.core.engines.remote import transport

        value = getattr(transport, name)
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value  # asked once: later lookups find it without this function
    return value
