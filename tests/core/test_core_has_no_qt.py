"""lmscales.core must run with no Qt at all: import every module of it and look at sys.modules."""

from __future__ import annotations

import subprocess
import sys

PROBE = """
import importlib, pkgutil, sys
import lmscales.core as core
names = [m.name for m in pkgutil.walk_packages(core.__path__, "lmscales.core.")]
for name in names:
    importlib.import_module(name)
leaked = sorted(m for m in sys.modules if m.split(".")[0] in {"PySide6", "shiboken6", "pyqtgraph", "PyQt5", "PyQt6"}
                or m.startswith("lmscales.ui"))
print(len(names), ",".join(leaked))
"""


def test_core_imports_no_qt() -> None:
    out = subprocess.run([sys.executable, "-c", PROBE], check=True, capture_output=True, text=True).stdout
    count, leaked = out.strip().split(" ", 1) if " " in out.strip() else (out.strip(), "")
    assert int(count) >= 8, "the probe should have found the core modules"
    assert leaked == "", f"lmscales.core pulled in Qt: {leaked}"
