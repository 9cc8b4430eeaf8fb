"""`lmscales eval` on a full or read-only data folder: the real engine on the bundled model runs the items, the
history file cannot take them, and the command says which comparisons were not kept and exits with status 1;
the history file never holds a cut line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from lmscales.__main__ import main
from lmscales.core.history import read_trials
from tests.support.small_disk import fill, full_disk, read_only, tmpfs

pytestmark = pytest.mark.slow

EVAL = ["eval", "--set", "translate", "--smoke", "--side", "small", "--limit", "2", "--warmups", "0",
        "--threads", "1", "--max-tokens", "8", "--quiet", "--json"]


def _no_cut_line(path: Path) -> None:
    if path.exists():
        _trials, notes = read_trials(path.read_bytes())
        assert not notes, notes


def _check_said(code: int, out: str, err: str, history: Path, reason: str) -> None:
    assert code == 1, err
    result = json.loads(out)
    assert len(result["trials"]) == 2 and result["not_kept"] == result["trials"]
    assert f"2 comparisons were not kept in the history file {history} ({reason}): " in err
    for trial_id in result["trials"]:
        assert f"{trial_id} (translate, " in err  # named, with its task and time
    assert "Their results are in this output only." in err
    _no_cut_line(history)


@pytest.mark.parametrize(("make", "reason"), [
    (lambda monkeypatch, path: full_disk(monkeypatch, path, room=50), "No space left on device"),
    (read_only, "Read-only file system"),
], ids=["full", "read-only"])
def test_eval_on_a_data_folder_that_cannot_keep_trials_names_them_and_fails(
        bundled_model: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
        make: Callable[[pytest.MonkeyPatch, Path], object], reason: str) -> None:
    data = tmp_path / "data"
    data.mkdir()
    history = data / "history.jsonl"
    history.write_bytes(b"")  # the simulated disk recognises the file by its identity
    monkeypatch.setenv("LMSCALES_DATA_DIR", str(data))
    make(monkeypatch, history)
    code = main([*EVAL])
    captured = capsys.readouterr()
    monkeypatch.undo()
    _check_said(code, captured.out, captured.err, history, reason)
    assert history.read_bytes() == b""  # the 50 bytes that fitted were cut back off


def test_eval_on_a_real_full_tmpfs_names_the_trials_not_kept(bundled_model: Path) -> None:
    with tmpfs("64k") as folder:
        fill(folder)
        env = {**os.environ, "LMSCALES_DATA_DIR": str(folder)}
        result = subprocess.run([sys.executable, "-m", "lmscales", *EVAL], capture_output=True, text=True,
                                check=False, timeout=600, env=env)
        _check_said(result.returncode, result.stdout, result.stderr, folder / "history.jsonl",
                    "No space left on device")
        # The evaluation's journal could not start either: said, and the evaluation ran without it.
        assert "The evaluation runs without it: if it stops, it cannot be resumed." in result.stderr
