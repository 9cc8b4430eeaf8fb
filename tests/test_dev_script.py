"""dev.py, the one script a new contributor runs: what it says when the llama.cpp build cannot start."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _dev() -> ModuleType:
    spec = importlib.util.spec_from_file_location("lmscales_dev_script", ROOT / "dev.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize(("platform", "named"), [
    ("win32", 'Visual Studio Build Tools 2022 with the workload "Desktop development with C++"'),
    ("darwin", "xcode-select --install"),
    ("linux", "build-essential"),
])
def test_a_failed_llama_cpp_build_names_the_compiler_this_platform_installs(platform: str, named: str) -> None:
    assert named in _dev().build_tools(platform)


def test_the_build_failure_message_uses_the_platforms_hint(monkeypatch: pytest.MonkeyPatch,
                                                           tmp_path: Path) -> None:
    dev = _dev()
    monkeypatch.setattr(dev.sys, "platform", "win32")
    monkeypatch.setattr(dev, "cache_root", lambda: tmp_path)
    monkeypatch.setattr(dev, "interpreter_tag", lambda: "cp311-win_amd64")
    monkeypatch.setattr(dev, "interpreter_machine", lambda: "AMD64")
    monkeypatch.setattr(dev, "run", lambda command, **kwargs: 1)  # the compiler is missing
    with pytest.raises(SystemExit) as stopped:
        dev.ensure_llama_wheel()
    assert "Desktop development with C++" in str(stopped.value)
