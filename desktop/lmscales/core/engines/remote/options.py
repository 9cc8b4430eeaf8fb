"""How the remote engine talks to its server: timeouts, rate-limit retries and the context it assumes."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RemoteOptions:
    connect_timeout: float = 10.0
    read_timeout: float = 60.0
    max_rate_limit_retries: int = 3
    max_retry_wait: float = 30.0  # a Retry-After longer than this is not waited for
    context_tokens: int = 8192  # what the remote model is assumed to take; longer summaries are map-reduced
