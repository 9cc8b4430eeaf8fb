"""The remote engine's wire: an httpx2 transport that counts the bytes a response brings (before
decompression) and keeps its first bytes, the system proxy for an endpoint, and the SDK client over them."""

from __future__ import annotations

import urllib.request
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import httpx2
import openai

from lmscales.core.endpoints import Endpoint
from lmscales.core.engines.remote.options import RemoteOptions
from lmscales.core.offline import is_loopback

NO_KEY_PLACEHOLDER = "no-key-set"
HEAD_BYTES = 2048


class ByteCounter:
    """Bytes off the wire, how many reads brought them, and the first bytes and content type of the last
    response (to recognise a body that is not a stream of events)."""

    def __init__(self) -> None:
        self.total = 0
        self.reads = 0
        self.content_type = ""
        self.head = b""


class CountingStream(httpx2.SyncByteStream):
    def __init__(self, inner: Any, counter: ByteCounter) -> None:
        self._inner = inner
        self._counter = counter

    def __iter__(self) -> Iterator[bytes]:
        for chunk in self._inner:
            counter = self._counter
            counter.total += len(chunk)
            counter.reads += 1
            if len(counter.head) < HEAD_BYTES:
                counter.head += chunk[: HEAD_BYTES - len(counter.head)]
            yield chunk

    def close(self) -> None:
        self._inner.close()


class CountingTransport(httpx2.HTTPTransport):
    """Counts response body bytes as they come off the wire (before decompression)."""

    def __init__(self, counter: ByteCounter, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.counter = counter

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        response = super().handle_request(request)
        self.counter.content_type = response.headers.get("content-type", "")
        self.counter.head = b""
        return httpx2.Response(
            status_code=response.status_code,
            headers=response.headers,
            stream=CountingStream(response.stream, self.counter),
            extensions=response.extensions,
        )


def proxy_for(url: str) -> str | None:
    """The system proxy for `url` (environment or OS settings), honouring its bypass list."""
    parts = urlsplit(url)
    if not parts.hostname or is_loopback(parts.hostname) or urllib.request.proxy_bypass(parts.hostname):
        return None
    proxies = urllib.request.getproxies()
    return proxies.get(parts.scheme) or proxies.get("all")


def open_client(endpoint: Endpoint, options: RemoteOptions, counter: ByteCounter) -> openai.OpenAI:
    """The SDK's client for `endpoint`, its bytes counted by `counter`; the SDK retries nothing itself (the
    engine decides what is worth a retry). The caller closes it."""
    timeout = httpx2.Timeout(options.read_timeout, connect=options.connect_timeout)
    # With a custom transport httpx reads no proxy settings itself: system proxies apply to remote
    # APIs, never to a server on this computer.
    proxy = proxy_for(endpoint.base_url)
    http_client = httpx2.Client(
        transport=CountingTransport(counter, proxy=proxy) if proxy else CountingTransport(counter),
        timeout=timeout,
        trust_env=False,
    )
    return openai.OpenAI(
        base_url=endpoint.base_url,
        api_key=endpoint.api_key or NO_KEY_PLACEHOLDER,
        max_retries=0,
        timeout=timeout,
        http_client=http_client,
    )
