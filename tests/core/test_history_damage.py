"""Hostile history files and data folders: a damaged line (a 5,000-digit number, a number out of range, nesting
too deep) or a folder in the file's place costs only itself, and is named; a full or read-only data folder
loses a comparison only with a message naming it, and never leaves a line cut."""

from __future__ import annotations

import dataclasses
import errno
import json
import os
from pathlib import Path

import pytest

from lmscales.core.history import TrialHistory, read_trials
from lmscales.core.trial import TaskInput
from tests.core.test_history import trial
from tests.support.small_disk import fill, full_disk, read_only, tmpfs


def damaged_lines() -> dict[str, bytes]:
    """What a user found stops the window from starting, each as one line of a history file."""
    turn = json.dumps({**trial("turn").to_dict(), "chat_turn": 7}).replace('"chat_turn": 7', '"chat_turn": 1e400')
    assert "1e400" in turn
    return {
        "a 5,000-digit number": b'{"schema_version": 1, "id": "long", "count": ' + b"9" * 5000 + b"}",
        "a number out of range": turn.encode(),
        "nesting too deep": b"[" * 100_000 + b"]" * 100_000,
        "NaN": json.dumps({**trial("nan").to_dict(), "chat_turn": float("nan")}).encode(),
    }


def write_history(path: Path, lines: list[bytes]) -> None:
    path.write_bytes(b"\n".join(lines) + b"\n")


def test_each_damaged_line_is_skipped_and_named_and_every_other_trial_is_read(tmp_path: Path) -> None:
    path = tmp_path / "history.jsonl"
    bad = damaged_lines()
    good = [json.dumps(trial(name).to_dict()).encode() for name in ("a", "b")]
    write_history(path, [good[0], *bad.values(), good[1]])
    history = TrialHistory.open(path)
    assert [t.id for t in history] == ["a", "b"]
    assert [note.line for note in history.notes] == [2, 3, 4, 5]
    reasons = [note.reason for note in history.notes]
    assert "5000-digit number" in reasons[0]
    assert "number out of range (1e400)" in reasons[1]
    assert "nested too deeply" in reasons[2]
    assert "NaN" in reasons[3]
    problem = history.load_problem()
    assert problem is not None
    assert f"4 damaged lines were skipped in the history file {path}" in problem
    assert "line 2 (holds a 5000-digit number" in problem and "line 5 (holds NaN" in problem


@pytest.mark.parametrize("kind", ["a 5,000-digit number", "a number out of range", "nesting too deep"])
def test_read_trials_never_raises_on_a_damaged_line(kind: str) -> None:
    trials, notes = read_trials(damaged_lines()[kind] + b"\n" + json.dumps(trial("kept").to_dict()).encode())
    assert [t.id for t in trials] == ["kept"] and [n.line for n in notes] == [1]


def test_many_damaged_lines_are_counted_after_the_first_five(tmp_path: Path) -> None:
    path = tmp_path / "history.jsonl"
    write_history(path, [b"{" for _ in range(8)])
    problem = TrialHistory.open(path).load_problem()
    assert problem is not None and "8 damaged lines" in problem and "line 5 (" in problem
    assert "line 6 (" not in problem and "and 3 more (see the log)" in problem


def test_a_folder_in_place_of_the_history_file_opens_an_empty_history_that_says_so(tmp_path: Path) -> None:
    path = tmp_path / "history.jsonl"
    path.mkdir()
    history = TrialHistory.open(path)
    assert len(history) == 0 and [note.line for note in history.notes] == [0]
    problem = history.load_problem()
    assert problem is not None and f"The history file {path} could not be read" in problem
    message = history.append(trial("x"))
    assert message is not None and "Could not keep the comparison x (translate," in message
    assert [item.trial_id for item in history.not_kept] == ["x"] and len(history) == 1
    assert "could not delete" in (history.clear() or "").lower()  # a folder is not removed as if it were the file


def test_a_disk_that_fills_mid_line_leaves_the_file_as_it_was_and_names_the_trial(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "history.jsonl"
    history = TrialHistory.open(path)
    assert history.append(trial("before")) is None
    before = path.read_bytes()
    taken = full_disk(monkeypatch, path, room=100)
    message = history.append(trial("lost"))
    assert taken == [100]  # part of the line was written before the disk was full ...
    assert path.read_bytes() == before  # ... and cut back off: no half line
    assert message is not None and "Could not keep the comparison lost (translate, 2026-11-28T10:00:02+00:00)" in \
        message and "No space left on device" in message
    assert history.not_kept_problem() == (
        f"1 comparison was not kept in the history file {path} (No space left on device): "
        "lost (translate, 2026-11-28T10:00:02+00:00).")
    monkeypatch.undo()  # space again: the next one is kept, and the file reads cleanly
    assert history.append(trial("after")) is None
    again = TrialHistory.open(path)
    assert [t.id for t in again] == ["before", "after"] and not again.notes


def test_a_short_write_is_continued_not_cut(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "history.jsonl"
    path.write_bytes(b"")
    real_write = os.write
    counts: list[int] = []

    def short_write(descriptor: int, data: bytes) -> int:  # at most 64 bytes a call, as a pipe or NFS may
        count = real_write(descriptor, bytes(data[:64]))
        counts.append(count)
        return count

    monkeypatch.setattr(os, "write", short_write)
    assert TrialHistory.open(path).append(trial("whole")) is None
    monkeypatch.undo()
    assert len(counts) > 1
    assert [t.id for t in TrialHistory.open(path)] == ["whole"]


def test_a_flush_that_fails_cuts_the_line_back_off(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "history.jsonl"
    history = TrialHistory.open(path)
    history.append(trial("before"))
    before = path.read_bytes()

    def failing_fsync(descriptor: int) -> None:
        raise OSError(errno.EIO, os.strerror(errno.EIO))

    monkeypatch.setattr(os, "fsync", failing_fsync)
    assert "Input/output error" in (history.append(trial("lost")) or "")
    assert path.read_bytes() == before


def test_a_read_only_data_folder_names_every_comparison_not_kept(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "history.jsonl"
    read_only(monkeypatch, path)
    history = TrialHistory.open(path)
    chat = dataclasses.replace(trial("two"), input=TaskInput("chat", "Hi"))
    for kept in (trial("one"), chat):
        message = history.append(kept)
        assert message is not None and "Read-only file system" in message and kept.id in message
    assert history.not_kept_problem() == (
        f"2 comparisons were not kept in the history file {path} (Read-only file system): "
        "one (translate, 2026-11-28T10:00:02+00:00), two (chat, 2026-11-28T10:00:02+00:00).")
    assert not path.exists() and len(history) == 2


def test_a_real_full_tmpfs_keeps_no_cut_line(tmp_path: Path) -> None:
    big = dataclasses.replace(trial("big"), input=TaskInput("translate", "A long text. " * 800, target_lang="fr"))
    with tmpfs("64k") as folder:
        path = folder / "data" / "history.jsonl"
        history = TrialHistory.open(path)
        assert history.append(trial("small")) is None
        before = path.read_bytes()
        filler = fill(folder, leave=4096)  # one page left: less than the big trial's line
        message = history.append(big)
        assert message is not None and "No space left on device" in message and "big" in message
        assert path.read_bytes() == before  # the part that fitted was cut back off
        filler.unlink()
        assert history.append(trial("after")) is None
        assert [t.id for t in TrialHistory.open(path)] == ["small", "after"]


def test_a_real_read_only_tmpfs_names_the_comparison_not_kept() -> None:
    with tmpfs("64k", read_only=True) as folder:
        history = TrialHistory.open(folder / "history.jsonl")
        message = history.append(trial("ro"))
        assert message is not None and "Read-only file system" in message and "ro (translate" in message
        assert [item.trial_id for item in history.not_kept] == ["ro"]


@pytest.mark.parametrize(("field", "value"), [
    ("prompt_tokens", None), ("cached_prompt_tokens", None), ("output_tokens", "12"), ("submitted_at", None),
    ("stop_reason", None), ("stop_reason", []), ("stop_reason", "exploded"), ("stream_reads", 1.5),
])
def test_a_line_whose_finished_figures_are_damaged_is_skipped_when_read_not_when_shown(field: str,
                                                                                      value: object) -> None:
    """Found by the fuzzer: a line that loaded with `null` token counts crashed later, in its metrics."""
    good = trial("good").to_dict()
    bad = trial("bad").to_dict()
    side = next(iter(bad["sides"].values()))
    assert side["finished"] is not None
    side["finished"][field] = value
    trials, notes = read_trials((json.dumps(good) + "\n" + json.dumps(bad) + "\n").encode())
    assert [t.id for t in trials] == ["good"]
    assert len(notes) == 1 and f"finished.{field}" in notes[0].reason
    for kept in trials:
        kept.to_dict()
