"""Trials as data, and the history file of them: round trips, a corrupt line loses only itself, and exports
that carry the input and both answers with the figures, never a key."""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import re
from pathlib import Path

import pytest

from lmscales.core import metrics
from lmscales.core.events import EngineError, EngineInfo, Finished, NativeTimings
from lmscales.core.history import CSV_COLUMNS, TrialHistory, endpoint_host, export_trials, from_json, read_trials
from lmscales.core.pricing import Cost, Price
from lmscales.core.secrets import register_secret
from lmscales.core.trial import SCHEMA_VERSION, GenerationParams, SideResult, TaskInput, Trial, TrialFormatError

KEY = "sk" "-proj-AbC123dEf456GhI789_jKl"
SMALL = EngineInfo(kind="local", model="SmolLM2-135M-Instruct Q4_1", context_tokens=4096, threads=1,
                   quantization="Q4_1", parameters="135M")
LARGE = EngineInfo(kind="remote", model="gpt-4o-mini", context_tokens=8192, host="api.openai.com",
                   endpoint_name="OpenAI", loopback=False)


def finished(stop_reason: str = "stop", provenance: str = "measured", start: float = 1000.0) -> Finished:
    # Submitted at `start`; first text 0.5 s later; four more deltas 0.1 s apart: 5 tokens, decode 4 / 0.4 s.
    deltas = tuple((start + 0.5 + 0.1 * i, f"word{i} ") for i in range(5))
    return Finished(
        prompt_tokens=20,
        prompt_tokens_provenance="measured",
        output_tokens=5,
        output_tokens_provenance=provenance,  # type: ignore[arg-type]
        submitted_at=start,
        deltas=deltas,
        stop_reason=stop_reason,  # type: ignore[arg-type]
        native=NativeTimings(40.0, 20, 380.0, 4) if provenance == "measured" else None,
    )


def trial(trial_id: str = "t1", text: str = "Translate me, please.", **side_changes: object) -> Trial:
    small = SideResult(side="small", label="Small", engine=SMALL, text="word0 word1 word2 word3 word4 ",
                       started_at="2026-11-28T10:00:00+00:00", finished=finished(), cpu_seconds=1.25)
    cost = Cost(0.00123, "estimated", Price("gpt-4o-mini", 0.15, 0.6, "bundled table, taken 2025-01"))
    large = SideResult(side="large", label="Large", engine=LARGE, text="word0 word1 word2 word3 word4 ",
                       started_at="2026-11-28T10:00:00+00:00", finished=finished(provenance="estimated", start=5.0),
                       cost=cost)
    large = dataclasses.replace(large, **side_changes)
    return Trial(id=trial_id, created_at="2026-11-28T10:00:02+00:00",
                 input=TaskInput("translate", text, target_lang="fr"), params=GenerationParams(max_tokens=64),
                 sides=(small, large))


def test_a_trial_survives_json_with_the_same_metrics() -> None:
    original = trial()
    again = Trial.from_dict(json.loads(json.dumps(original.to_dict())))
    assert again.id == original.id and again.input == original.input and again.params == original.params
    for before, after in zip(original.sides, again.sides, strict=True):
        assert after.text == before.text and after.engine == before.engine and after.status == before.status
        assert after.metrics is not None and before.metrics is not None
        assert after.metrics.time_to_first_token.value == pytest.approx(0.5)
        assert after.metrics.decode_rate.value == pytest.approx(before.metrics.decode_rate.value)
        assert after.metrics.decode_rate.provenance == before.metrics.decode_rate.provenance
    assert again.side("large").cost == original.side("large").cost  # type: ignore[union-attr]
    assert again.side("small").finished.native == original.side("small").finished.native  # type: ignore[union-attr]


def test_a_trial_from_a_newer_version_says_so() -> None:
    data = trial().to_dict()
    data["schema_version"] = SCHEMA_VERSION + 1
    with pytest.raises(TrialFormatError, match="newer LM Scales"):
        Trial.from_dict(data)
    with pytest.raises(TrialFormatError, match="missing or has a bad field"):
        Trial.from_dict({"schema_version": SCHEMA_VERSION, "id": "x"})


def test_status_follows_how_the_side_ended() -> None:
    assert trial().side("small").status == "done"  # type: ignore[union-attr]
    assert trial(finished=finished("length")).side("large").status == "length"  # type: ignore[union-attr]
    assert trial(finished=finished("cancelled")).side("large").status == "stopped"  # type: ignore[union-attr]
    broken = trial(finished=None, error=EngineError("incomplete", "cut", partial_text="word0"))
    assert broken.side("large").status == "incomplete"  # type: ignore[union-attr]
    skipped = trial(finished=None, skipped="Offline mode")
    assert skipped.side("large").status == "skipped"  # type: ignore[union-attr]


def test_only_the_host_of_an_endpoint_is_kept() -> None:
    assert endpoint_host("https://user:pw@api.openai.com/v1?key=x") == "api.openai.com"
    assert endpoint_host("http://127.0.0.1:8080/v1") == "127.0.0.1:8080"
    assert endpoint_host("http://[::1]:11434/v1") == "[::1]:11434"


def test_the_file_keeps_trials_between_sessions(tmp_path: Path) -> None:
    path = tmp_path / "data" / "history.jsonl"
    history = TrialHistory.open(path)
    assert history.append(trial("a")) is None
    assert history.append(trial("b")) is None
    again = TrialHistory.open(path)
    assert [t.id for t in again] == ["a", "b"] and not again.notes
    assert again.get("b") is not None and again.get("b").input.text == "Translate me, please."  # type: ignore[union-attr]
    assert len(path.read_text("utf-8").splitlines()) == 2


def test_a_corrupt_or_truncated_line_loses_only_itself(tmp_path: Path) -> None:
    path = tmp_path / "history.jsonl"
    history = TrialHistory.open(path)
    for name in ("a", "b", "c"):
        history.append(trial(name))
    lines = path.read_bytes().split(b"\n")
    lines[1] = b'{"schema_version": 1, "id": "b", "sides": {'  # cut in the middle
    path.write_bytes(b"\n".join(lines[:2]) + b"\n\xff\xfe garbage\n" + lines[2][: len(lines[2]) // 2])
    loaded = TrialHistory.open(path)
    assert [t.id for t in loaded] == ["a"]
    assert [note.line for note in loaded.notes] == [2, 3, 4]
    assert "not complete JSON" in loaded.notes[0].reason and "UTF-8" in loaded.notes[1].reason
    # The next append starts on a line of its own, so the cut line does not swallow it.
    loaded.append(trial("d"))
    assert [t.id for t in TrialHistory.open(path)] == ["a", "d"]


def test_keeping_off_writes_nothing_and_clear_deletes_the_file(tmp_path: Path) -> None:
    path = tmp_path / "history.jsonl"
    quiet = TrialHistory.open(path, keep=False)
    quiet.append(trial())
    assert len(quiet) == 1 and not path.exists()
    kept = TrialHistory.open(path)
    kept.append(trial())
    seen: list[object] = []
    kept.subscribe(seen.append)
    kept.clear()
    assert not path.exists() and len(kept) == 0 and seen == [None]


def test_a_write_that_fails_is_reported_and_the_trial_is_kept_for_the_session(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    history = TrialHistory.open(blocker / "history.jsonl")
    problem = history.append(trial())
    assert problem is not None and "Could not keep the comparison" in problem
    assert len(history) == 1


def test_json_export_round_trips_and_holds_input_and_answers(tmp_path: Path) -> None:
    written = export_trials([trial("a"), trial("b")], tmp_path / "h.json")
    document = json.loads(written.read_text("utf-8"))
    assert document["schema_version"] == SCHEMA_VERSION
    entry = document["trials"][0]
    assert entry["input"]["text"] == "Translate me, please."
    assert entry["sides"]["small"]["text"].startswith("word0") and entry["sides"]["large"]["text"]
    assert [t.id for t in from_json(written.read_text("utf-8"))] == ["a", "b"]
    with pytest.raises(ValueError, match="not an LM Scales history export"):
        from_json('{"runs": []}')


def test_csv_has_one_row_per_side_sharing_the_trial_id(tmp_path: Path) -> None:
    text = export_trials([trial("a")], tmp_path / "h.csv").read_text("utf-8")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert list(rows[0]) == [name for name, _ in CSV_COLUMNS]
    assert [(r["trial_id"], r["side"]) for r in rows] == [("a", "small"), ("a", "large")]
    assert rows[0]["input"] == "Translate me, please." and rows[1]["answer"].startswith("word0")
    assert float(rows[0]["decode_rate_tok_s"]) == pytest.approx(10.0)
    assert rows[1]["decode_rate_provenance"] == "estimated" and rows[1]["cost_usd"] == "0.00123"


def test_csv_cells_are_never_spreadsheet_formulas(tmp_path: Path) -> None:
    text = export_trials([trial(text="=HYPERLINK(\"http://evil\")")], tmp_path / "h.csv").read_text("utf-8")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert rows[0]["input"].startswith("'=")


def test_markdown_shows_input_answers_and_figures_side_by_side(tmp_path: Path) -> None:
    text = export_trials([trial(text="Bonjour <b>tout</b> | le monde")], tmp_path / "h.md").read_text("utf-8")
    assert "trial `t1`" in text
    assert "> Bonjour &lt;b>tout&lt;/b> | le monde" in text
    assert "**Small: SmolLM2-135M-Instruct Q4_1**" in text and "**Large: gpt-4o-mini**" in text
    assert "| TTFT | 0.500 s | 0.500 s |" in text
    assert "~$0.001230" in text  # an estimated cost is marked


def test_api_keys_never_reach_the_file_or_an_export(tmp_path: Path) -> None:
    message = f"Incorrect API key provided: {KEY}. Header was Authorization: Bearer abcdef1234567890."
    register_secret("9f8e7d6c5b4a39281706f5e4d3c2b1a0-history-test")
    leaky = trial(finished=None, error=EngineError("auth", message),
                  text="my key is 9f8e7d6c5b4a39281706f5e4d3c2b1a0-history-test")
    history = TrialHistory.open(tmp_path / "history.jsonl")
    history.append(leaky)
    outputs = [(tmp_path / "history.jsonl").read_text("utf-8")]
    outputs += [history.export(tmp_path / f"h{suffix}").read_text("utf-8") for suffix in (".json", ".csv", ".md")]
    for text in outputs:
        assert not re.search(r"sk-[A-Za-z0-9_-]{8,}", text)
        assert "AbC123dEf456" not in text and "abcdef1234567890" not in text and "9f8e7d6c5b4a" not in text
        assert "[redacted]" in text


def test_export_picks_the_format_from_the_suffix_and_refuses_others(tmp_path: Path) -> None:
    for suffix in (".json", ".csv", ".md", ".html"):
        assert export_trials([trial()], tmp_path / f"x{suffix}").exists()
    with pytest.raises(ValueError, match=r"must end in \.json, \.csv, \.md or \.html"):
        export_trials([trial()], tmp_path / "x.xlsx")


def test_read_trials_on_bytes_that_are_not_trials() -> None:
    trials, notes = read_trials(b'[1, 2]\n{"schema_version": 1}\n\n' + b"[" * 100_000 + b"\n")
    assert trials == [] and len(notes) == 3


def test_metrics_of_a_stored_trial_match_the_shared_definitions() -> None:
    stored = Trial.from_dict(trial().to_dict()).side("small")
    assert stored is not None and stored.finished is not None
    assert stored.metrics == metrics.compute(stored.finished)
