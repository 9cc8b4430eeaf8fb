"""A scenario is a file people share, and its steps are sent to the large side's API when a presenter advances:
an `input_file` may only name a bounded regular file inside the scenario's folder. Unknown top-level fields and
non-finite parameters are refused, as docs/scenarios.md says."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from lmscales.core import scenario
from lmscales.core.scenario import MAX_INPUT_FILE_BYTES, ScenarioError

STEP = '''
format = "lmscales-scenario"
version = 1
title = "Files"

[[steps]]
title = "Read it"
task = "summarize"
{input}
'''


def write(folder: Path, input_line: str, name: str = "demo.toml") -> Path:
    path = folder / name
    path.write_text(STEP.format(input=input_line), encoding="utf-8")
    return path


def test_a_file_in_the_scenario_folder_or_below_it_is_read(tmp_path: Path) -> None:
    (tmp_path / "texts").mkdir()
    (tmp_path / "texts" / "report.txt").write_text("\ufeffA long report about rivers.", encoding="utf-8")
    loaded = scenario.load(write(tmp_path, 'input_file = "texts/report.txt"'))
    assert loaded.steps[0].input.text == "A long report about rivers."  # a BOM is not part of the text


@pytest.mark.parametrize("name", ["../secret.txt", "texts/../../secret.txt"])
def test_a_relative_path_that_climbs_out_of_the_folder_is_refused(tmp_path: Path, name: str) -> None:
    (tmp_path / "secret.txt").write_text("my private notes", encoding="utf-8")
    folder = tmp_path / "shared"
    (folder / "texts").mkdir(parents=True)
    with pytest.raises(ScenarioError, match=r"demo\.toml, step 1 \(Read it\): input_file .* is outside the "
                                            r"scenario's folder"):
        scenario.load(write(folder, f'input_file = "{name}"'))


def test_an_absolute_path_is_refused_even_to_a_readable_file(tmp_path: Path) -> None:
    secret = tmp_path / "outside" / "hostname"
    secret.parent.mkdir()
    secret.write_text("my-laptop", encoding="utf-8")
    folder = tmp_path / "shared"
    folder.mkdir()
    line = f"input_file = '{secret}'"  # a literal string: Windows backslashes stay as they are
    with pytest.raises(ScenarioError, match="is outside the scenario's folder"):
        scenario.load(write(folder, line))
    with pytest.raises(ScenarioError, match="is outside the scenario's folder"):
        scenario.load(write(folder, f"input_file = '{Path(__file__).resolve()}'"))


@pytest.mark.skipif(not hasattr(os, "symlink") or sys.platform == "win32",
                    reason="symbolic links need a privilege on Windows")
def test_a_symlink_inside_the_folder_that_points_outside_is_refused(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("my private notes", encoding="utf-8")
    folder = tmp_path / "shared"
    folder.mkdir()
    (folder / "notes.txt").symlink_to(secret)
    with pytest.raises(ScenarioError, match=r"input_file notes\.txt is outside the scenario's folder"):
        scenario.load(write(folder, 'input_file = "notes.txt"'))
    # a link that stays inside the folder is fine
    (folder / "real.txt").write_text("Inside text.", encoding="utf-8")
    (folder / "alias.txt").symlink_to(folder / "real.txt")
    assert scenario.load(write(folder, 'input_file = "alias.txt"')).steps[0].input.text == "Inside text."


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="needs /dev/zero")
def test_a_device_reached_through_a_link_is_not_read(tmp_path: Path) -> None:
    (tmp_path / "zero").symlink_to("/dev/zero")
    with pytest.raises(ScenarioError, match="outside the scenario's folder"):
        scenario.load(write(tmp_path, 'input_file = "zero"'))
    with pytest.raises(ScenarioError, match="outside the scenario's folder"):
        scenario.load(write(tmp_path, 'input_file = "/dev/zero"'))


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes are a POSIX feature")
def test_a_named_pipe_in_the_folder_is_refused_without_blocking(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe")  # opening it to read would wait for a writer forever
    with pytest.raises(ScenarioError, match="input_file pipe is not a regular file"):
        scenario.load(write(tmp_path, 'input_file = "pipe"'))
    (tmp_path / "folder").mkdir()
    with pytest.raises(ScenarioError, match="input_file folder is not a regular file"):
        scenario.load(write(tmp_path, 'input_file = "folder"'))


def test_a_file_over_the_size_bound_is_refused(tmp_path: Path) -> None:
    (tmp_path / "big.txt").write_bytes(b"a" * (MAX_INPUT_FILE_BYTES + 1))
    with pytest.raises(ScenarioError, match=r"input_file big\.txt is larger than 1 MB \(1\.0 MB\); use a shorter "
                                            "text"):
        scenario.load(write(tmp_path, 'input_file = "big.txt"'))
    (tmp_path / "fits.txt").write_bytes(b"a" * MAX_INPUT_FILE_BYTES)
    assert len(scenario.load(write(tmp_path, 'input_file = "fits.txt"')).steps[0].input.text) == MAX_INPUT_FILE_BYTES


def test_an_input_file_without_a_scenario_file_is_refused() -> None:
    with pytest.raises(ScenarioError, match="needs a scenario read from a file"):
        scenario.parse(STEP.format(input='input_file = "report.txt"'), "pasted")


def test_the_built_in_input_file_still_loads() -> None:
    steps = scenario.load_builtin("long-report").steps
    assert any(len(step.input.text) > 2000 for step in steps)


def test_unknown_top_level_fields_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "demo.toml"
    path.write_text(STEP.format(input='input = "Text."').replace('title = "Files"', 'title = "Files"\n'
                                                                  'autor = "Ann"\ntheme = "dark"'), encoding="utf-8")
    with pytest.raises(ScenarioError, match=r"demo\.toml has unknown field\(s\) autor, theme; known at the top: "
                                            "description, format, steps, title, version"):
        scenario.load(path)


@pytest.mark.parametrize("value", ["nan", "inf", "+inf", "-nan"])
@pytest.mark.parametrize("key", ["temperature", "top_p"])
def test_a_parameter_that_is_not_a_finite_number_is_refused(tmp_path: Path, key: str, value: str) -> None:
    path = tmp_path / "demo.toml"
    path.write_text(STEP.format(input=f'input = "Text."\n[steps.params]\n{key} = {value}'), encoding="utf-8")
    with pytest.raises(ScenarioError, match=rf"step 1 \(Read it\): params\.{key} must be a finite number, not "
                                            rf"{value.lstrip('+-')}"):
        scenario.load(path)
