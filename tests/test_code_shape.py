"""The shape issue 22 gave the code, kept: the window composes (under 350 lines), no runtime file is over 500
lines, engines are built only in core/engines (the factory among them), and no ui module starts a thread of its
own (background work goes through ui/background.py, whose threads come from core/daemon.py)."""

from __future__ import annotations

import re
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "desktop" / "lmscales"


def _modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def _lines(path: Path) -> int:
    return len(path.read_text(encoding="utf-8").splitlines())


def test_the_window_composes_and_no_file_is_crowded() -> None:
    assert _lines(PACKAGE / "ui" / "main_window.py") < 350
    crowded = {str(path.relative_to(PACKAGE)): _lines(path) for path in _modules() if _lines(path) > 500}
    assert not crowded, f"over 500 lines (split them): {crowded}"


def test_engines_are_built_only_in_core_engines() -> None:
    constructor = re.compile(r"\b(LocalEngine|RemoteEngine|ReplayEngine)\(")
    outside = [f"{path.relative_to(PACKAGE)}:{number}" for path in _modules()
               if "core/engines" not in path.relative_to(PACKAGE).as_posix()
               for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
               if constructor.search(line.split("#")[0]) and not line.lstrip().startswith(('"', "'"))]
    assert not outside, f"an engine built outside core/engines: {outside}"


def test_no_ui_module_starts_a_thread_of_its_own() -> None:
    threads = [str(path.relative_to(PACKAGE)) for path in (PACKAGE / "ui").rglob("*.py")
               if "threading.Thread(" in path.read_text(encoding="utf-8")]
    assert not threads, threads
