"""The remote engine's clients share one TLS context: a context of its own per request loaded the system's CA
store again (about 0.8 MB of OpenSSL memory, unseen by tracemalloc), held until the cyclic garbage collector
reached the SDK client's reference cycle: a 10,000-item evaluation grew by tens of MB (issue 25)."""

from __future__ import annotations

import gc
import os
import ssl
from collections.abc import Iterator
from typing import Any

import psutil
import pytest

from lmscales.core import tasks
from lmscales.core.endpoints import Endpoint
from lmscales.core.engines.remote import RemoteEngine, RemoteOptions
from lmscales.core.engines.remote.transport import ByteCounter, open_client, shared_ssl_context
from lmscales.core.events import GenerationRequest
from tests.conftest import SERVER_MODEL
from tests.support.drive import run_to_end


def tls_context(client: Any) -> ssl.SSLContext:
    """The context the client's connection pool verifies with (the SDK client -> httpx client -> our transport)."""
    context = client._client._transport._pool._ssl_context
    assert isinstance(context, ssl.SSLContext)
    return context


def test_every_client_verifies_with_one_tls_context() -> None:
    endpoint = Endpoint("https://api.example.com/v1", "some-model")
    first = open_client(endpoint, RemoteOptions(), ByteCounter())
    second = open_client(endpoint, RemoteOptions(), ByteCounter())
    try:
        assert tls_context(first) is tls_context(second) is shared_ssl_context()
        assert tls_context(first).verify_mode == ssl.CERT_REQUIRED and tls_context(first).check_hostname
    finally:
        first.close()
        second.close()


def test_a_ca_file_named_in_the_environment_is_still_read(monkeypatch: pytest.MonkeyPatch) -> None:
    paths = ssl.get_default_verify_paths()
    cafile = next((path for path in (paths.cafile, paths.openssl_cafile) if path and os.path.isfile(path)), None)
    if cafile is None:
        pytest.skip("this system has no CA bundle file to name")
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    default = shared_ssl_context()
    monkeypatch.setenv("SSL_CERT_FILE", cafile)
    named = shared_ssl_context()
    assert named is not default  # read from the file the variable names, as a transport of its own would
    assert named is shared_ssl_context()  # and once
    assert named.cert_store_stats()["x509_ca"] > 0


@pytest.fixture
def no_cyclic_collection() -> Iterator[None]:
    """The worst case the evaluation met: the SDK's clients (reference cycles) left to the oldest generation,
    which Python collects only every few thousand requests."""
    was_enabled = gc.isenabled()  # off already where a window's GUI-thread collector runs (ui/gc_guard.py)
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
        gc.collect()


@pytest.mark.slow
def test_requests_leave_no_native_memory_behind(llama_server: str, no_cyclic_collection: None) -> None:
    engine = RemoteEngine(Endpoint(llama_server, SERVER_MODEL))
    request = GenerationRequest(tasks.chat_messages([], "Say hi."), max_tokens=2, temperature=0.0)
    for _ in range(3):  # the shared context, the SDK's lazy imports and the server's first answers
        assert run_to_end(engine, request).ok
    process = psutil.Process()
    before = process.memory_info().rss
    requests = 20
    for _ in range(requests):
        assert run_to_end(engine, request).ok
    grown = (process.memory_info().rss - before) / 2**20
    # A CA store per request kept about 0.8 MB each (16 MB here); the Python objects of 20 clients are a few KB.
    assert grown < 5, f"RSS grew by {grown:.1f} MiB over {requests} requests"
