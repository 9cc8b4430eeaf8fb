"""The remote engine's wire: an httpx2 transport that counts the bytes a response brings (before
decompression) and keeps its first bytes, the system proxy for an endpoint, and the SDK client over them.

What left this computer is counted where it leaves: the connection pool's network backend is wrapped, so
`ByteCounter.sent` is every byte the HTTP client wrote to its connections (request line, headers and body of
each request, a proxy's CONNECT included) and `ByteCounter.connection_received` every byte it read from them
(status line, headers and body, before decompression); with TLS both are the HTTP bytes inside it (the
handshake and TLS's own framing are not counted). The body of the last request is kept as it was sent; its
headers, which carry the key, are never kept.

Every client shares one TLS context (`shared_ssl_context`): a context of its own would load the system's CA
store again, about 0.8 MB of OpenSSL memory per request that Python's heap statistics never see, and the SDK's
client sits in a reference cycle, so it is freed only when the cyclic garbage collector next reaches it (for one
that lived long enough to be promoted, thousands of requests later): a 10,000-item evaluation grew by tens of MB.
"""

from __future__ import annotations

import os
import ssl
import threading
import urllib.request
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import httpcore2
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
        # What went over the connections (see the module's docstring), and the last request's body as sent.
        self.sent = 0
        self.connection_received = 0
        self.requests = 0
        self.body = b""


class _CountingNetworkStream(httpcore2.NetworkStream):
    """A connection whose writes and reads are counted; a TLS upgrade is counted the same way."""

    def __init__(self, inner: httpcore2.NetworkStream, counter: ByteCounter) -> None:
        self._inner = inner
        self._counter = counter

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        data = self._inner.read(max_bytes, timeout)
        self._counter.connection_received += len(data)
        return data

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, timeout)  # it sends all of `buffer` or raises
        self._counter.sent += len(buffer)

    def close(self) -> None:
        self._inner.close()

    def start_tls(self, ssl_context: Any, server_hostname: str | None = None,
                  timeout: float | None = None) -> httpcore2.NetworkStream:
        return _CountingNetworkStream(self._inner.start_tls(ssl_context, server_hostname, timeout), self._counter)

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class _CountingBackend(httpcore2.NetworkBackend):
    def __init__(self, inner: httpcore2.NetworkBackend, counter: ByteCounter) -> None:
        self._inner = inner
        self._counter = counter

    def connect_tcp(self, host: str, port: int, timeout: float | None = None, local_address: str | None = None,
                    socket_options: Any = None) -> httpcore2.NetworkStream:
        stream = self._inner.connect_tcp(host, port, timeout, local_address, socket_options)
        return _CountingNetworkStream(stream, self._counter)

    def connect_unix_socket(self, path: str, timeout: float | None = None,
                            socket_options: Any = None) -> httpcore2.NetworkStream:
        return _CountingNetworkStream(self._inner.connect_unix_socket(path, timeout, socket_options), self._counter)

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


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
    """Counts response body bytes as they come off the wire (before decompression), and every byte written to
    and read from its connections."""

    def __init__(self, counter: ByteCounter, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.counter = counter
        # httpx takes no network backend, its connection pool does: the one place every connection is made.
        pool: Any = self._pool
        pool._network_backend = _CountingBackend(pool._network_backend, counter)

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        self.counter.requests += 1
        self.counter.body = request.read()  # the SDK's JSON body, already in memory; never the headers
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


_contexts: dict[tuple[str, str], ssl.SSLContext] = {}
_contexts_lock = threading.Lock()


def shared_ssl_context() -> ssl.SSLContext:
    """The TLS context every client of this process verifies with: httpx's default (the system's CA store, or
    `SSL_CERT_FILE` / `SSL_CERT_DIR` when set, as a transport of its own would read them), built once per value of
    those variables. An `SSLContext` is safe to share between threads: each connection is a session of its own."""
    key = (os.environ.get("SSL_CERT_FILE", ""), os.environ.get("SSL_CERT_DIR", ""))
    with _contexts_lock:
        context = _contexts.get(key)
        if context is None:
            context = _contexts[key] = httpx2.create_ssl_context()
        return context


def open_client(endpoint: Endpoint, options: RemoteOptions, counter: ByteCounter) -> openai.OpenAI:
    """The SDK's client for `endpoint`, its bytes counted by `counter`; the SDK retries nothing itself (the
    engine decides what is worth a retry). The caller closes it."""
    timeout = httpx2.Timeout(options.read_timeout, connect=options.connect_timeout)
    # With a custom transport httpx reads no proxy settings itself: system proxies apply to remote
    # APIs, never to a server on this computer.
    proxy = proxy_for(endpoint.base_url)
    http_client = httpx2.Client(
        transport=CountingTransport(counter, verify=shared_ssl_context(), proxy=proxy),
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
