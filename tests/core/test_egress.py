"""What left this computer: the large side's request as the trial keeps it is byte for byte what a real server on
loopback received (through a relay that records both directions), its byte counts are what went over the
connection, the key is in none of it, and the small side's 0 bytes are measured from its engine process."""

from __future__ import annotations

import dataclasses
import json
import os
import socket
from pathlib import Path

import pytest

from lmscales.core import egress
from lmscales.core.egress import Egress, local_egress, session_total, total_sentence
from lmscales.core.endpoints import Endpoint
from lmscales.core.engines.factory import EndpointSpec, GgufSpec
from lmscales.core.history import TrialHistory, export_trials
from lmscales.core.trial import GenerationParams, SideResult, TaskInput, Trial
from lmscales.core.workspace import Workspace
from tests.conftest import SERVER_MODEL
from tests.support.recording_proxy import RecordingProxy

KEY = "sk" "-test-EgressKey0123456789abcdef"
HELLO = TaskInput("chat", "Say hello in three words.")
SHORT = GenerationParams(max_tokens=12, temperature=0.0, seed=1)


def _body(http_request: bytes) -> bytes:
    head, _, body = http_request.partition(b"\r\n\r\n")
    assert b"content-length" in head.lower()  # one request, its body whole after the headers
    return body


def test_the_request_kept_is_byte_for_byte_what_the_server_received(llama_server: str, tmp_path: Path) -> None:
    history = TrialHistory.open(tmp_path / "history.jsonl")
    workspace = Workspace(history=history)
    with RecordingProxy(llama_server) as proxy:
        url = proxy.base_url
        workspace.set_slot("large", EndpointSpec(Endpoint(base_url=proxy.base_url, model=SERVER_MODEL, api_key=KEY)))
        trial = workspace.session.run(HELLO, SHORT, ("large",))
        proxy.wait_idle()
        workspace.close()
        received, sent_back = proxy.received(), proxy.sent_back()
    large = trial.side("large")
    assert large is not None and large.error is None and large.egress is not None
    kept = large.egress
    assert kept.host == Endpoint(base_url=url, model=SERVER_MODEL).host
    assert kept.requests == 1 and kept.provenance == "measured"
    # What the app counted is what went over the connection, each way.
    assert kept.bytes_sent == len(received)
    # Received: what the client read, the whole answer; the stream's last few framing bytes after its final
    # event may stay unread when the client closes, and a count never exceeds what arrived.
    assert kept.bytes_received is not None and kept.bytes_received <= len(sent_back)
    assert b"data: [DONE]" in sent_back[: kept.bytes_received]
    # The body as the app shows and keeps it is the body the server read, byte for byte.
    assert kept.request_body is not None
    assert kept.request_body.encode("utf-8") == _body(received)
    assert json.loads(kept.request_body)["messages"][-1]["content"] == HELLO.text
    # The key went in the Authorization header, and nothing the app keeps or shows holds it.
    assert f"Bearer {KEY}".encode() in received
    line = json.dumps(trial.to_dict())
    assert KEY not in line and "authorization" not in line.lower()
    assert json.loads(line)["sides"]["large"]["egress"]["request"] == kept.request_body
    assert KEY not in (tmp_path / "history.jsonl").read_text(encoding="utf-8")
    exported = export_trials([trial], tmp_path / "export.json").read_text(encoding="utf-8")
    assert KEY not in exported and '"egress"' in exported
    reread = TrialHistory.open(tmp_path / "history.jsonl").get(trial.id)
    assert reread is not None and reread.side("large") is not None
    assert reread.side("large").egress == kept  # type: ignore[union-attr]


def test_the_small_side_sends_nothing_measured_from_its_engine_process(bundled_model: Path) -> None:
    workspace = Workspace()
    workspace.set_slot("small", GgufSpec(str(bundled_model), n_ctx=512, threads=1))
    workspace.load("small")
    trial = workspace.session.run(HELLO, GenerationParams(max_tokens=4, temperature=0.0), ("small",))
    pid = workspace.engine("small").pid  # type: ignore[union-attr]
    workspace.close()
    small = trial.side("small")
    assert small is not None and small.egress is not None
    assert small.egress.bytes_sent == 0 and small.egress.request_body is None and small.egress.host is None
    assert small.egress.provenance == "measured"
    assert f"no network connection from the engine process (pid {pid})" in small.egress.how
    assert "request" not in trial.to_dict()["sides"]["small"]["egress"]


def test_a_process_with_an_inet_socket_is_seen_and_its_traffic_is_unknown() -> None:
    """The measurement is real: a connected socket in a process is counted, and then the 0 is not claimed."""
    before = egress.inet_connections(os.getpid())
    listener = socket.create_server(("127.0.0.1", 0))
    client = socket.create_connection(listener.getsockname())
    try:
        during = egress.inet_connections(os.getpid())
    finally:
        client.close()
        listener.close()
    assert before is not None and during is not None and during >= before + 2
    unknown = local_egress(os.getpid(), 0, during)
    assert unknown.bytes_sent is None and unknown.provenance == "unknown"
    assert local_egress(None, None, None).bytes_sent is None


def test_an_old_history_line_without_egress_still_loads() -> None:
    old = {"schema_version": 1, "id": "old1", "created_at": "2026-01-01T00:00:00+00:00",
           "input": {"task": "chat", "text": "hi"}, "params": {},
           "sides": {"small": {"side": "small", "label": "Small", "text": "hello", "started_at": ""}}}
    trial = Trial.from_dict(old)
    assert trial.sides[0].egress is None
    assert "egress" not in json.dumps(trial.to_dict()) or trial.to_dict()["sides"]["small"]["egress"] is None


def test_a_damaged_egress_is_refused_when_read() -> None:
    with pytest.raises(ValueError, match=r"egress\.bytes_sent"):
        Egress.from_dict({"host": "h", "bytes_sent": -3, "bytes_received": 0})


def test_the_session_total_names_each_host_and_the_small_sides_measured_zero() -> None:
    def side(name: str, value: Egress, recorded: bool = False) -> SideResult:
        return SideResult(side=name, label=name.capitalize(), engine=None, text="", started_at="", egress=value,
                          recorded=recorded)

    big = Egress("api.openai.com", 14_200, 3_000, 2, "{}")
    sides = [side("large", big), side("small", Egress(None, 0, 0)),
             side("large", Egress("api.openai.com", 500, 1, 1, "{}"), recorded=True)]  # a replay sends nothing now
    total = session_total((s.egress, s.side == "small", s.recorded) for s in sides)
    assert total.bytes_sent == 14_200
    assert total_sentence(total) == "This session sent 14.2 KB to api.openai.com; the small side sent nothing " \
                                    "(measured)."
    unknown = session_total([(Egress(None, None, None, provenance="unknown"), True, False)])
    assert total_sentence(unknown) == "This session sent nothing to a large side; the small side's traffic is " \
                                      "unknown."


def test_the_method_card_of_comparisons_says_what_left_this_computer() -> None:
    from lmscales.core.events import EngineInfo
    from lmscales.core.method_card import method_markdown, method_rows
    from lmscales.core.method_card_trials import card_for_trials

    small = SideResult(side="small", label="Small", text="hi", started_at="", egress=Egress(None, 0, 0),
                       engine=EngineInfo(kind="local", model="s", context_tokens=512))
    sent_large = Egress("api.x.invalid", 2100, 900, 1, '{"model":"m"}')
    large = SideResult(side="large", label="Large", text="hi", started_at="", egress=sent_large,
                       engine=EngineInfo(kind="remote", model="m", context_tokens=512, host="api.x.invalid",
                                         loopback=False))
    trial = Trial(id="t", created_at="2026-01-01T00:00:00+00:00", input=HELLO, params=SHORT, sides=(small, large))
    card = card_for_trials([trial])
    sent = "The comparisons sent 2.1 KB to api.x.invalid; the small side sent nothing (measured)."
    assert card.sent == sent
    assert ("Method", "sent over the network", sent) in [(r.group, r.label, r.value) for r in method_rows(card)]
    assert sent in method_markdown(card)
    old = dataclasses.replace(trial, sides=tuple(dataclasses.replace(s, egress=None) for s in trial.sides))
    assert card_for_trials([old]).sent is None  # trials from before egress was kept: nothing claimed
