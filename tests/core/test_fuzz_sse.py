"""Fuzzing the remote engine's stream handling with bytes from a loopback server ("raw" mode of the fault
server): valid streams cut at any boundary read the same as whole; arbitrary and damaged bytes end in
`Finished` or a clear `EngineError` (one of the kinds a damaged stream is, naming the server, keeping what was
shown), never in an exception, never in a hang."""

from __future__ import annotations

import itertools
import json

from hypothesis import given
from hypothesis import strategies as st

from lmscales.core import tasks
from lmscales.core.endpoints import Endpoint
from lmscales.core.engines.remote import RemoteEngine, RemoteOptions
from lmscales.core.events import EngineError, Finished, GenerationRequest
from tests.support.drive import run_to_end
from tests.support.fault_server import FaultServer
from tests.support.fuzzing import FUZZ, Tally, run_fuzz

OPTIONS = RemoteOptions(connect_timeout=5.0, read_timeout=5.0, max_rate_limit_retries=0)
REQUEST = GenerationRequest(tasks.chat_messages([], "Say hello."), max_tokens=16)
WORDS = ["Hello", ", wörld", " 🌍", "!"]


def _event(body: dict[str, object]) -> bytes:
    return b"data: " + json.dumps(body, ensure_ascii=False).encode() + b"\n\n"


def _stream(words: list[str]) -> bytes:
    chunks = [_event({"id": "x", "object": "chat.completion.chunk", "created": 0, "model": "m",
                      "choices": [{"index": 0, "delta": {"content": word}, "finish_reason": None}]})
              for word in words]
    chunks.append(_event({"id": "x", "object": "chat.completion.chunk", "created": 0, "model": "m",
                          "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}))
    return b"".join(chunks) + b"data: [DONE]\n\n"


VALID = _stream(WORDS)
# What a damaged stream is, as the user is told: a chunk that is not JSON ("malformed"), a stream that ends
# before its answer does ("incomplete"), an error the server put in the stream ("server"). Any other kind here
# (the catch-all "connection" that names an exception's class, "internal") is an exception dressed as an error.
DAMAGED_STREAM_KINDS = {"malformed", "incomplete", "server"}


def _cut(data: bytes, points: list[int]) -> list[bytes]:
    edges = sorted({0, len(data), *(p % (len(data) + 1) for p in points)})
    return [data[a:b] for a, b in itertools.pairwise(edges)]


def _run(server: FaultServer, pieces: list[bytes]) -> tuple[str, Finished | None, EngineError | None]:
    server.raw_bodies.append(pieces)
    engine = RemoteEngine(Endpoint(server.url("raw"), "m"), OPTIONS)
    try:
        result = run_to_end(engine, REQUEST)
    finally:
        engine.close()
    assert (result.finished is None) != (result.error is None), "a run ends in exactly one of Finished or an error"
    if result.error is not None:
        assert result.error.message.strip()
    return result.text, result.finished, result.error


def test_a_valid_stream_cut_at_any_boundary_reads_the_same(fault_server: FaultServer) -> None:
    def body(tally: Tally) -> None:
        @FUZZ
        @given(points=st.lists(st.integers(0, len(VALID)), max_size=12))
        def case(points: list[int]) -> None:
            text, finished, error = _run(fault_server, _cut(VALID, points))
            assert error is None, error
            assert finished is not None and finished.stop_reason == "stop"
            assert text == "".join(WORDS)
            tally(f"{len(_cut(VALID, points))} pieces" if len(_cut(VALID, points)) < 4 else "4+ pieces")

        case()

    run_fuzz("SSE chunk boundaries", body)


def test_damaged_and_arbitrary_streams_end_in_a_clear_error(fault_server: FaultServer) -> None:
    host = Endpoint(fault_server.url("raw"), "m").host

    def body(tally: Tally) -> None:
        @FUZZ
        @given(
            data=st.one_of(
                st.binary(max_size=300),
                st.builds(lambda prefix, junk: VALID[:prefix] + junk, st.integers(0, len(VALID)),
                          st.binary(max_size=60)),
                st.builds(lambda at, byte: VALID[:at] + bytes([byte]) + VALID[at + 1:],
                          st.integers(0, len(VALID) - 1), st.integers(0, 255)),
                st.lists(st.sampled_from([b"data: ", b"{", b"}", b"\n", b"\r\n", b":", b"[DONE]", b"\"choices\"",
                                          b"event: error\n", b"\xff", b"data: {\"error\": {}}\n\n"]),
                         max_size=20).map(b"".join),
            ),
            points=st.lists(st.integers(0, 400), max_size=5),
        )
        def case(data: bytes, points: list[int]) -> None:
            text, finished, error = _run(fault_server, _cut(data, points))
            if error is not None:
                assert error.kind in DAMAGED_STREAM_KINDS, (error.kind, error.message, data)
                assert host in error.message, error.message  # the user learns which server
                assert error.partial_text == text  # what was shown is kept, no more and no less
            tally(f"error:{error.kind}" if error is not None else f"finished:{finished.stop_reason}")  # type: ignore[union-attr]

        case()

    run_fuzz("SSE arbitrary bytes", body)
