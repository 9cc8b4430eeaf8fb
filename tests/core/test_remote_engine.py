"""The remote engine against llama-cpp-python's real server, and against a fault server for the faults."""

from __future__ import annotations

import logging
import socket
import threading
import time

import pytest

from lmscales.core import tasks
from lmscales.core.endpoints import Endpoint, Preset, detect_local_servers
from lmscales.core.engines.remote import RemoteEngine, RemoteError, RemoteOptions, retry_after_seconds
from lmscales.core.events import EngineError, Finished, GenerationRequest, Notice, TextDelta
from tests.conftest import SERVER_MODEL, free_port
from tests.support.drive import run_to_end
from tests.support.fault_server import WORDS, FaultServer

SECRET = "sk" "-test-0123456789-SECRET-abcdef"
# The default timeouts: a loopback answer that comes slowly on a loaded machine is still an answer. Only the
# tests about timeouts wait a short one out.
OPTIONS = RemoteOptions(max_rate_limit_retries=2)
SHORT_READ = RemoteOptions(connect_timeout=1.0, read_timeout=1.0, max_rate_limit_retries=2)


def chat(text: str = "Say hello.", max_tokens: int = 24) -> GenerationRequest:
    return GenerationRequest(tasks.chat_messages([], text), max_tokens=max_tokens, temperature=0.0)


def fault(server: FaultServer, mode: str, key: str | None = SECRET, options: RemoteOptions = OPTIONS) -> RemoteEngine:
    return RemoteEngine(Endpoint(server.url(mode), "fault-model", key), options)


# -- the real server ----------------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize(
    "messages",
    [
        tasks.chat_messages([], "What is the capital of France?"),
        tasks.summarize_messages("The cat sat on the mat. It was a sunny day and the cat was happy.", "sentence"),
        tasks.translate_messages("Good morning, my friends.", "es"),
    ],
    ids=["chat", "summarize", "translate"],
)
def test_tasks_through_the_real_server(llama_server: str, messages: tuple) -> None:  # type: ignore[type-arg]
    engine = RemoteEngine(Endpoint(llama_server, SERVER_MODEL))
    result = run_to_end(engine, GenerationRequest(messages, max_tokens=32, temperature=0.0))
    assert result.ok, result.error
    assert result.text.strip()
    finished = result.finished
    assert finished is not None
    # llama-cpp-python's server sends no usage in streams: the counts are estimates and say so
    assert finished.output_tokens_provenance == "estimated"
    assert finished.prompt_tokens_provenance == "estimated"
    assert finished.output_tokens >= 1
    assert finished.bytes_received is not None and finished.bytes_received > len(result.text)
    m = result.metrics
    assert m is not None and m.time_to_first_token.value is not None and m.time_to_first_token.value > 0
    assert m.decode_rate.format().startswith("~") or m.decode_rate.value is None


@pytest.mark.slow
def test_models_list_from_the_real_server(llama_server: str) -> None:
    assert SERVER_MODEL in RemoteEngine(Endpoint(llama_server, "x")).list_models()


# Speed is the benchmark's business (`lmscales bench engine` prints cancel latencies); these margins hold on a
# loaded 2-core machine and still fail an engine that lets a stopped stream run on.
CANCEL_MARGIN_SECONDS = 2.0


@pytest.mark.slow
def test_cancel_closes_the_stream_promptly(llama_server: str) -> None:
    engine = RemoteEngine(Endpoint(llama_server, SERVER_MODEL))
    cancelled_at = 0.0
    events = []
    for event in engine.generate(chat("Write a very long story about the sea.", max_tokens=300)):
        events.append(event)
        if isinstance(event, TextDelta) and not cancelled_at:
            cancelled_at = time.perf_counter()
            engine.cancel()
    latency = time.perf_counter() - cancelled_at
    assert isinstance(events[-1], Finished) and events[-1].stop_reason == "cancelled"
    assert latency < CANCEL_MARGIN_SECONDS, f"cancel took {latency * 1000:.0f} ms"
    # the server is free again: a new request goes through
    assert run_to_end(engine, chat(max_tokens=4)).ok


# -- usage, and its absence -----------------------------------------------------------------------------


def test_usage_in_the_stream_is_measured(fault_server: FaultServer) -> None:
    result = run_to_end(fault(fault_server, "usage"), chat())
    assert result.ok and result.text == "".join(WORDS)
    assert result.finished is not None
    assert (result.finished.prompt_tokens, result.finished.prompt_tokens_provenance) == (21, "measured")
    assert (result.finished.output_tokens, result.finished.output_tokens_provenance) == (6, "measured")
    sent = fault_server.requests[-1][4]
    assert sent["stream_options"] == {"include_usage": True} and sent["stream"] is True


def test_no_usage_means_estimated(fault_server: FaultServer) -> None:
    result = run_to_end(fault(fault_server, "ok"), chat())
    assert result.finished is not None and result.finished.output_tokens_provenance == "estimated"
    assert result.finished.output_tokens == len(WORDS)


# -- every error maps to a message a user can act on -------------------------------------------------


@pytest.mark.parametrize(
    ("mode", "kind", "expected"),
    [
        ("401", "auth", "refused the API key (401 Unauthorized)"),
        ("403", "forbidden", "403 Forbidden"),
        ("404", "not_found", "Model 'fault-model' was not found"),
        ("400", "bad_request", "rejected the request (HTTP 400): max_tokens is too large"),
        ("500", "server", "server error (HTTP 500)"),
        ("503", "server", "server error (HTTP 503)"),
        ("stall", "timeout", "sent nothing for 1 s after the request was sent (read timeout"),
    ],
)
def test_http_errors(fault_server: FaultServer, mode: str, kind: str, expected: str) -> None:
    result = run_to_end(fault(fault_server, mode, options=SHORT_READ if kind == "timeout" else OPTIONS), chat())
    assert result.error is not None and result.error.kind == kind
    assert expected in result.error.message
    assert SECRET not in result.error.message


def test_401_without_a_key(fault_server: FaultServer) -> None:
    result = run_to_end(fault(fault_server, "401", key=None), chat())
    assert result.error is not None and "none is set" in result.error.message


@pytest.mark.parametrize(
    ("mode", "kind", "expected"),
    [
        ("cut", "incomplete", "broke in the middle of the answer"),
        ("malformed", "malformed", "malformed chunk"),
        ("stallmid", "timeout", "read timeout"),
    ],
)
def test_broken_streams_keep_the_partial_text(fault_server: FaultServer, mode: str, kind: str, expected: str) -> None:
    result = run_to_end(fault(fault_server, mode, options=SHORT_READ if kind == "timeout" else OPTIONS), chat())
    assert result.error is not None and result.error.kind == kind, result.error
    assert expected in result.error.message and "partial answer is kept" in result.error.message
    assert result.error.partial_text.startswith("Hello from")
    assert result.text == result.error.partial_text


def test_rate_limit_honours_retry_after_then_succeeds(fault_server: FaultServer) -> None:
    events = list(fault(fault_server, "429once").generate(chat()))
    notices = [e for e in events if isinstance(e, Notice)]
    assert len(notices) == 1 and "retry 1 of 2 in 0.2 s" in notices[0].message
    assert isinstance(events[-1], Finished)


def test_rate_limit_gives_up_after_bounded_retries(fault_server: FaultServer) -> None:
    before = sum(1 for r in fault_server.requests if r[0] == "429")
    started = time.monotonic()
    result = run_to_end(fault(fault_server, "429"), chat())
    elapsed = time.monotonic() - started
    assert result.error is not None and result.error.kind == "rate_limited"
    assert "gave up after 3 attempts" in result.error.message and "wait 0.2 s" in result.error.message
    assert sum(1 for r in fault_server.requests if r[0] == "429") - before == 3
    assert elapsed >= 0.4  # it waited Retry-After twice


def test_retry_after_formats() -> None:
    assert retry_after_seconds({"retry-after": "7"}) == 7.0
    assert retry_after_seconds({"retry-after": "Wed, 21 Oct 2015 07:28:05 GMT"}, now=1445412480.0) == 5.0
    assert retry_after_seconds({"retry-after": "soon"}) is None
    assert retry_after_seconds({}) is None


def test_connection_refused() -> None:
    engine = RemoteEngine(Endpoint(f"http://127.0.0.1:{free_port()}/v1", "m"), OPTIONS)
    result = run_to_end(engine, chat())
    assert result.error is not None and result.error.kind == "refused"
    assert "connection refused" in result.error.message and "Is the server running" in result.error.message


def test_dns_failure(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test may reach a resolver, so the lookup itself fails here as it does with no network."""

    def no_dns(*args: object, **kwargs: object) -> object:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", no_dns)
    result = run_to_end(RemoteEngine(Endpoint("http://api.example.invalid/v1", "m"), OPTIONS), chat())
    assert result.error is not None and result.error.kind == "dns"
    assert "Could not look up api.example.invalid (DNS failure)" in result.error.message


def test_connect_timeout() -> None:
    """A loopback listener whose backlog is full never completes a handshake: a real connect timeout."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port = listener.getsockname()[1]
    fillers = []
    try:
        for _ in range(4):
            filler = socket.socket()
            filler.setblocking(False)
            filler.connect_ex(("127.0.0.1", port))
            fillers.append(filler)
        engine = RemoteEngine(Endpoint(f"http://127.0.0.1:{port}/v1", "m"),
                              RemoteOptions(connect_timeout=0.5, read_timeout=0.5))
        result = run_to_end(engine, chat())
        assert result.error is not None
        assert result.error.kind == "timeout", result.error
        assert "Connecting to 127.0.0.1" in result.error.message and "timed out after 0.5 s" in result.error.message
    finally:
        for filler in fillers:
            filler.close()
        listener.close()


def _cancel_once_the_server_has_the_request(server: FaultServer, engine: RemoteEngine) -> threading.Thread:
    seen = len(server.requests)

    def cancel_when_asked() -> None:
        deadline = time.monotonic() + 30
        while len(server.requests) == seen and time.monotonic() < deadline:
            time.sleep(0.005)
        engine.cancel()

    thread = threading.Thread(target=cancel_when_asked, daemon=True)
    thread.start()
    return thread


def test_cancel_while_waiting_for_a_stalled_server(fault_server: FaultServer, monkeypatch: pytest.MonkeyPatch) -> None:
    # The server would answer only after the read timeout (for this test only: the server is the module's).
    monkeypatch.setattr(fault_server, "stall_seconds", 10.0)
    engine = RemoteEngine(Endpoint(fault_server.url("stall"), "m"), RemoteOptions(read_timeout=10))
    canceller = _cancel_once_the_server_has_the_request(fault_server, engine)
    started = time.perf_counter()
    events = list(engine.generate(chat()))
    canceller.join()
    assert time.perf_counter() - started < 10.0 - CANCEL_MARGIN_SECONDS  # ended by the Stop, not by the server
    assert isinstance(events[-1], Finished) and events[-1].stop_reason == "cancelled"


# -- secrets, models, detection -------------------------------------------------------------------------


def test_key_never_appears(fault_server: FaultServer, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    endpoint = Endpoint(fault_server.url("401"), "fault-model", SECRET)
    assert SECRET not in repr(endpoint)
    result = run_to_end(RemoteEngine(endpoint, OPTIONS), chat())
    assert result.error is not None
    assert SECRET not in str(result.as_dict())
    assert SECRET not in caplog.text
    with pytest.raises(RemoteError) as caught:
        RemoteEngine(endpoint, OPTIONS).list_models()
    assert SECRET not in str(caught.value)
    # the key was sent where it belongs: the Authorization header, to the endpoint only
    headers = {key.lower(): value for key, value in fault_server.requests[-1][3].items()}
    assert headers["authorization"] == f"Bearer {SECRET}"


def test_model_list(fault_server: FaultServer) -> None:
    assert fault(fault_server, "ok").list_models() == ["fault-model", "gpt-4o-mini"]


def test_detects_servers_on_loopback_only(fault_server: FaultServer) -> None:
    presets = (
        Preset("Live", fault_server.url("ok"), False),
        Preset("Nobody home", f"http://127.0.0.1:{free_port()}/v1", False),
        Preset("Remote", "https://api.example.invalid/v1", True),
    )
    found = detect_local_servers(presets, timeout=0.5)
    assert [d.preset.name for d in found] == ["Live"]
    assert found[0].models == ("fault-model", "gpt-4o-mini")


def test_busy_remote_engine(fault_server: FaultServer) -> None:
    engine = RemoteEngine(Endpoint(fault_server.url("slow"), "m"), OPTIONS)
    first = engine.generate(chat())
    next(first)
    second = list(engine.generate(chat()))
    assert isinstance(second[0], EngineError) and second[0].kind == "busy"
    list(first)


def test_cancel_while_connecting_then_send_again(fault_server: FaultServer) -> None:
    """The cancelled run's late stream must not leak into the next run (each run has its own cancel)."""
    engine = RemoteEngine(Endpoint(fault_server.url("slowstart"), "m"), OPTIONS)
    _cancel_once_the_server_has_the_request(fault_server, engine)  # it answers 0.6 s after that
    first = list(engine.generate(chat()))
    assert isinstance(first[-1], Finished) and first[-1].stop_reason == "cancelled"
    second = list(engine.generate(chat()))
    finished = second[-1]
    assert isinstance(finished, Finished) and finished.stop_reason == "stop", second[-1]
    assert finished.text == "".join(WORDS)
