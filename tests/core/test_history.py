"""The run history: records built from engine events, and its JSON, CSV and Markdown exports."""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import re
from datetime import datetime, timezone
from pathlib import Path

import pytest

from lmscales.core.events import EngineError, Finished
from lmscales.core.history import COLUMNS, SCHEMA_VERSION, RunHistory, RunRecord, endpoint_host
from lmscales.core.pricing import Cost, Price
from lmscales.core.secrets import register_secret

KEY = "sk" "-proj-AbC123dEf456GhI789_jKl"


def finished(stop_reason: str = "stop", provenance: str = "measured") -> Finished:
    # Submitted at 10.0; first text at 10.5; four more deltas 0.1 s apart: 5 tokens, decode 4 / 0.4 s.
    deltas = tuple((10.5 + 0.1 * i, f"word{i} ") for i in range(5))
    return Finished(
        prompt_tokens=20,
        prompt_tokens_provenance="measured",
        output_tokens=5,
        output_tokens_provenance=provenance,  # type: ignore[arg-type]
        submitted_at=10.0,
        deltas=deltas,
        stop_reason=stop_reason,  # type: ignore[arg-type]
    )


def remote_record(**changes: object) -> RunRecord:
    cost = Cost(0.00123, "estimated", Price("gpt-4o-mini", 0.15, 0.6, "bundled table, taken 2025-01"))
    record = RunRecord.from_finished(
        finished(provenance="estimated"),
        task="summarize",
        side="remote",
        model="gpt-4o-mini",
        endpoint="https://api.openai.com/v1",
        cost=cost,
        run_id="run-1",
        started_at=datetime(2025, 3, 1, 12, 0, 5, tzinfo=timezone.utc),
        chunks=3,
    )
    return RunRecord(**{**record.as_dict(), **changes})


def local_record(**changes: object) -> RunRecord:
    record = RunRecord.from_finished(
        finished(),
        task="chat",
        side="local",
        model="SmolLM2-135M-Instruct Q4_1",
        cpu_seconds=1.25,
        run_id="run-2",
        started_at="2025-03-01T12:00:09+00:00",
    )
    return RunRecord(**{**record.as_dict(), **changes})


def history() -> RunHistory:
    return RunHistory([remote_record(), local_record()])


# ---- records ----


def test_record_from_finished_uses_the_shared_metrics() -> None:
    record = remote_record()
    assert record.status == "done" and record.error_message is None
    assert record.started_at == "2025-03-01T12:00:05+00:00"
    assert record.endpoint_host == "api.openai.com"
    assert record.time_to_first_token_s == pytest.approx(0.5)
    assert record.end_to_end_s == pytest.approx(0.9)
    assert record.decode_rate_tok_s == pytest.approx(10.0)
    assert record.decode_rate_provenance == "estimated"  # the token count was a guess
    assert record.output_tokens == 5 and record.output_tokens_provenance == "estimated"
    assert record.cost_usd == 0.00123 and record.cost_provenance == "estimated"
    assert record.price_source == "bundled table, taken 2025-01"
    assert record.chunks == 3


@pytest.mark.parametrize(("stop_reason", "status"), [("length", "length"), ("cancelled", "stopped")])
def test_stop_reason_becomes_status(stop_reason: str, status: str) -> None:
    record = RunRecord.from_finished(finished(stop_reason), task="chat", side="local", model="m")
    assert record.status == status
    assert record.run_id and datetime.fromisoformat(record.started_at).tzinfo is not None


def test_record_from_an_error_keeps_the_message() -> None:
    error = EngineError("rate_limited", "The server is rate limiting you (429); try again in a minute.")
    record = RunRecord.from_finished(error, task="translate", side="remote", model="m", endpoint="example.org")
    assert record.status == "error"
    assert record.error_message == "The server is rate limiting you (429); try again in a minute."
    assert record.time_to_first_token_s is None and record.output_tokens is None and record.cost_usd is None
    broken = RunRecord.from_finished(EngineError("incomplete", "The stream broke off."), task="chat",
                                     side="remote", model="m")
    assert broken.status == "incomplete" and broken.error_message == "The stream broke off."


def test_only_the_host_of_an_endpoint_is_kept() -> None:
    assert endpoint_host("https://user:secret@llm.example.com:8443/v1?key=abc") == "llm.example.com:8443"
    assert endpoint_host("http://127.0.0.1:8080/v1") == "127.0.0.1:8080"
    assert endpoint_host("http://[::1]:1234/v1") == "[::1]:1234"
    assert endpoint_host("api.groq.com") == "api.groq.com"
    record = RunRecord.from_finished(finished(), task="chat", side="remote", model="m",
                                     endpoint="https://me:pw@host.example/v1")
    assert record.endpoint_host == "host.example"


def test_records_refuse_urls_credentials_and_nonsense() -> None:
    with pytest.raises(ValueError, match="bare host"):
        remote_record(endpoint_host="me:pw@host.example")
    with pytest.raises(ValueError, match="bare host"):
        remote_record(endpoint_host="https://host.example/v1")
    with pytest.raises(ValueError, match="local run"):
        local_record(endpoint_host="host.example")
    with pytest.raises(ValueError, match="status"):
        local_record(status="fine")
    with pytest.raises(ValueError, match="chunks"):
        local_record(chunks=0)


def test_history_append_list_clear_len() -> None:
    runs = RunHistory()
    assert len(runs) == 0 and runs.list() == ()
    runs.append(local_record())
    snapshot = runs.list()
    runs.append(remote_record())
    assert len(runs) == 2 and len(snapshot) == 1
    assert [r.run_id for r in runs] == ["run-2", "run-1"]
    runs.clear()
    assert len(runs) == 0


# ---- exports ----


def test_json_round_trip() -> None:
    original = history()
    text = original.to_json()
    document = json.loads(text)
    assert document["schema_version"] == SCHEMA_VERSION == 1
    assert datetime.fromisoformat(document["exported_at"])
    assert [run["run_id"] for run in document["runs"]] == ["run-1", "run-2"]
    assert list(document["runs"][0]) == list(COLUMNS)
    assert document["runs"][1]["cost_usd"] is None
    assert RunHistory.from_json(text).list() == original.list()


def test_json_from_elsewhere_is_refused() -> None:
    with pytest.raises(ValueError, match="schema_version"):
        RunHistory.from_json('{"runs": []}')
    with pytest.raises(ValueError, match="not a run record"):
        RunHistory.from_json('{"schema_version": 1, "runs": [{"run_id": "x"}]}')


def test_csv_parses_back_with_stable_columns() -> None:
    text = RunHistory([remote_record(decode_rate_tok_s=1234.5), local_record()]).to_csv()
    rows = list(csv.reader(io.StringIO(text, newline="")))
    assert tuple(rows[0]) == COLUMNS
    assert len(rows) == 3
    remote, local = (dict(zip(COLUMNS, row, strict=True)) for row in rows[1:])
    assert remote["decode_rate_tok_s"] == "1234.5"  # not localized, no thousands separator
    assert float(remote["time_to_first_token_s"]) == pytest.approx(0.5)
    assert remote["cost_usd"] == "0.00123" and remote["cost_provenance"] == "estimated"
    assert remote["chunks"] == "3" and remote["output_tokens"] == "5"
    assert local["cost_usd"] == "" and local["endpoint_host"] == "" and local["energy_j"] == ""
    assert local["cpu_seconds"] == "1.25"


def test_csv_cells_are_never_spreadsheet_formulas() -> None:
    record = remote_record(status="error", error_message='=HYPERLINK("http://evil.example","click")')
    row = list(csv.reader(io.StringIO(RunHistory([record]).to_csv(), newline="")))[1]
    message = row[COLUMNS.index("error_message")]
    assert message.startswith("'=")


def unescaped_pipes(line: str) -> int:
    return len(re.findall(r"(?<!\\)\|", line.replace("\\\\", "")))


def test_markdown_table_with_units_marks_and_escaping() -> None:
    tricky = remote_record(
        model="team|model",
        status="error",
        error_message="bad | request\nsecond line with a back\\slash",
        cost_usd=None,
    )
    text = RunHistory([tricky, local_record()]).to_markdown()
    table = [line for line in text.splitlines() if line.startswith("|")]
    assert len(table) == 4  # header, rule, two runs: the newline did not break a row
    assert len({unescaped_pipes(line) for line in table}) == 1
    assert "team\\|model" in text
    assert "bad \\| request second line with a back\\\\slash" in text
    remote, local = table[2], table[3]
    assert "~10.0 tok/s" in remote and "~5" in remote  # estimated token count
    assert "0.50 s" in remote and "~0.50 s" not in remote  # time is measured
    assert "| unknown |" in remote
    assert "10.0 tok/s" in local and "~" not in local
    assert "1.2 CPU-s" in local
    assert "Peak RSS" not in text  # no resource samples, no empty columns


def test_markdown_shows_resource_columns_when_known_and_formats_cost() -> None:
    record = local_record(engine_peak_rss_bytes=300 * 2**20, mean_cpu_percent=87.4, energy_j=12.5,
                          energy_provenance="estimated")
    text = RunHistory([record, remote_record()]).to_markdown()
    assert "Peak RSS" in text and "300 MiB" in text and "87 %" in text and "~12.5 J" in text
    assert "~$0.001230" in text


def test_api_keys_never_reach_an_export(tmp_path: Path) -> None:
    message = f"Incorrect API key provided: {KEY}. Header was Authorization: Bearer abcdef1234567890."
    direct = remote_record(status="error", error_message=message)
    built = RunRecord.from_finished(EngineError("auth", message), task="chat", side="remote", model="m")
    assert built.error_message is not None and KEY not in built.error_message
    assert built.error_message.startswith("Incorrect API key provided: [redacted]")
    # A key of another shape is caught once the app knows it (every key it stores or loads is registered).
    register_secret("9f8e7d6c5b4a39281706f5e4d3c2b1a0-history-test")
    known = remote_record(status="error", error_message="bad key 9f8e7d6c5b4a39281706f5e4d3c2b1a0-history-test")
    runs = RunHistory([direct, built, known])
    for suffix in (".json", ".csv", ".md"):
        text = runs.export(tmp_path / f"runs{suffix}").read_text("utf-8")
        assert not re.search(r"sk-[A-Za-z0-9_-]{8,}", text), suffix
        assert "AbC123dEf456" not in text and "abcdef1234567890" not in text
        assert "9f8e7d6c5b4a" not in text
        assert "[redacted]" in text


def test_chunks_come_from_the_finished_event() -> None:
    event = dataclasses.replace(finished(), chunks=4)
    assert RunRecord.from_finished(event, task="summarize", side="local", model="m").chunks == 4
    assert RunRecord.from_finished(event, task="summarize", side="local", model="m", chunks=2).chunks == 2


def test_export_picks_the_format_from_the_suffix(tmp_path: Path) -> None:
    runs = history()
    assert json.loads(runs.export(tmp_path / "a.json").read_text("utf-8"))["runs"]
    assert (tmp_path / "b.CSV").exists() is False
    assert runs.export(tmp_path / "b.CSV").read_bytes().startswith(b"run_id,started_at,")
    assert runs.export(tmp_path / "c.md").read_text("utf-8").startswith("| Started |")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.json", "b.CSV", "c.md"]  # no temporary files left


def test_export_replaces_an_existing_file_whole(tmp_path: Path) -> None:
    target = tmp_path / "runs.csv"
    target.write_text("old content that is much longer than nothing\n" * 100)
    RunHistory().export(target)
    assert target.read_text("utf-8").splitlines() == [",".join(COLUMNS)]


def test_unknown_suffix_is_refused_with_a_clear_message(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"'runs\.txt'.*\.json, \.csv or \.md"):
        history().export(tmp_path / "runs.txt")
    with pytest.raises(ValueError, match="must end in"):
        history().export(tmp_path / "runs")
    assert list(tmp_path.iterdir()) == []
