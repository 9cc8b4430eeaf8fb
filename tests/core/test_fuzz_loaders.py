"""Fuzzing the loaders of files the app finds on disk: the settings file and the history file of trials.

Whatever bytes are there, loading ends with settings (defaults and a notice, if need be) or with the trials
that can be read and a note per line that cannot; never with an exception, which would stop the app from
starting."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from lmscales.core.history import TrialHistory, read_trials
from lmscales.core.settings import Settings, load_settings, save_settings
from lmscales.core.trial import Trial, TrialFormatError
from tests.core.test_history import trial
from tests.support.fuzzing import FUZZ, Tally, run_fuzz

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=12,
)


def _mutate(value: Any, path: list[int], replacement: Any) -> Any:
    """`value` with the node that `path` picks (indices taken modulo each level's size) replaced."""
    if not path or not isinstance(value, dict | list) or not value:
        return replacement
    if isinstance(value, dict):
        keys = sorted(value)
        key = keys[path[0] % len(keys)]
        return {**value, key: _mutate(value[key], path[1:], replacement)}
    index = path[0] % len(value)
    return [*value[:index], _mutate(value[index], path[1:], replacement), *value[index + 1:]]


def test_settings_files_of_any_bytes_load_or_fall_back_to_defaults() -> None:
    valid = json.dumps({"schema_version": 1, "theme": "dark", "generation": {"temperature": 0.3}}).encode()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "settings.json"

        def body(tally: Tally) -> None:
            @FUZZ
            @given(data=st.one_of(
                st.binary(max_size=512),
                st.builds(lambda cut, flip: bytes(b ^ (flip if i == cut % len(valid) else 0)
                                                  for i, b in enumerate(valid)), st.integers(0, 10_000),
                          st.integers(0, 255)),
                st.integers(0, len(valid)).map(lambda cut: valid[:cut]),
            ))
            def case(data: bytes) -> None:
                for stale in Path(folder).iterdir():
                    stale.unlink()
                path.write_bytes(data)
                result = load_settings(path)
                assert isinstance(result.settings, Settings)
                tally("notice" if result.notice else "loaded")
                save_settings(result.settings, path)  # and what was loaded can be saved and read back
                assert load_settings(path).settings == result.settings

            case()

        run_fuzz("settings file bytes", body)


def test_settings_of_any_json_shape_load_or_fall_back_to_defaults() -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "settings.json"
        save_settings(Settings(), path)
        seed = json.loads(path.read_text())

        def body(tally: Tally) -> None:
            @FUZZ
            @given(where=st.lists(st.integers(0, 50), max_size=3), value=JSON)
            def case(where: list[int], value: Any) -> None:
                for stale in Path(folder).iterdir():
                    stale.unlink()
                path.write_text(json.dumps(_mutate(seed, where, value)), encoding="utf-8")
                result = load_settings(path)
                assert isinstance(result.settings, Settings)
                tally("notice" if result.notice else "loaded")

            case()

        run_fuzz("settings JSON shapes", body)


def test_history_files_of_any_bytes_keep_every_readable_trial() -> None:
    good = json.dumps(trial("good").to_dict()).encode()

    def body(tally: Tally) -> None:
        @FUZZ
        @given(garbage=st.binary(max_size=400), cut=st.integers(0, len(good)))
        def case(garbage: bytes, cut: int) -> None:
            data = good + b"\n" + garbage.replace(b"\n", b" ") + b"\n" + good[:cut] + b"\n" + good + b"\n"
            trials, notes = read_trials(data)
            assert [t.id for t in trials][:1] == ["good"] and trials[-1].id == "good"
            assert all(note.reason for note in notes)
            tally(f"{len(trials)} trials, {len(notes)} notes")

        case()

    run_fuzz("history file bytes", body)


def test_trials_of_any_json_shape_are_read_or_refused_with_a_reason() -> None:
    seed = trial("seed").to_dict()

    def body(tally: Tally) -> None:
        @FUZZ
        @given(where=st.lists(st.integers(0, 60), max_size=5), value=JSON)
        def case(where: list[int], value: Any) -> None:
            data = _mutate(seed, where, value)
            try:
                read = Trial.from_dict(data)
            except TrialFormatError as error:
                assert str(error)
                tally("refused")
                return
            # a trial that was read can be written and read back, shown and exported
            assert Trial.from_dict(json.loads(json.dumps(read.to_dict()))).id == read.id
            tally("read")

        case()

    run_fuzz("trial JSON shapes", body)


def test_a_history_file_of_random_lines_opens(tmp_path: Path) -> None:
    path = tmp_path / "history.jsonl"

    def body(tally: Tally) -> None:
        @FUZZ
        @given(data=st.binary(max_size=1024))
        def case(data: bytes) -> None:
            path.write_bytes(data)
            history = TrialHistory.open(path)
            assert all(note.reason for note in history.notes)
            tally("opened")

        case()

    run_fuzz("history open", body)
