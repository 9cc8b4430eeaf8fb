"""Hostile recordings: nesting too deep and numbers out of range are refused with a message naming the file,
in the loader and on `lmscales demo replay FILE`, never a traceback."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from lmscales.__main__ import main
from lmscales.core import recording
from tests.core.test_history import trial


def good_recording() -> dict[str, object]:
    return recording.from_trials([trial("recorded")]).to_dict()


def _with_turn(value: str) -> str:
    data = good_recording()
    data["trials"][0]["chat_turn"] = 7  # type: ignore[index]
    return json.dumps(data).replace('"chat_turn": 7', f'"chat_turn": {value}')


HOSTILE = {
    "nested": ('{"format": "lmscales-recording", "version": 1, "trials": ' + "[" * 50_000 + "]" * 50_000 + "}",
               r"talk\.lmsrec\.json is nested too deeply to read\. It cannot be replayed\."),
    "long number": (json.dumps(good_recording()).replace('"version": 1', '"version": ' + "1" * 5000),
                    r"talk\.lmsrec\.json holds a 5000-digit number, too long to be a real figure\. It cannot be "
                    r"replayed\."),
    "infinite count": (_with_turn("1e400"),
                       r"talk\.lmsrec\.json, trial 1 holds a number out of range\. It cannot be replayed\."),
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_a_hostile_recording_is_refused_with_a_message(tmp_path: Path, case: str) -> None:
    text, message = HOSTILE[case]
    path = tmp_path / "talk.lmsrec.json"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(recording.RecordingError, match=message):
        recording.load(path)


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_demo_replay_of_a_hostile_recording_says_why_and_exits_2(tmp_path: Path, case: str,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    text, message = HOSTILE[case]
    path = tmp_path / "talk.lmsrec.json"
    path.write_text(text, encoding="utf-8")
    assert main(["demo", "replay", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("lmscales: ") and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1 and re.search(message, err)

