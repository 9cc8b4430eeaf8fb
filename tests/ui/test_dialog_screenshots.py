"""Every dialog on a real X server (Xvfb) at 100 % and 200 % scaling: its texts fit, and its picture is kept.

Each dialog runs in its own process (`tests/support/show_dialog.py`), which reports the widgets whose text is
cut off; the dialog is photographed with `xwd -id` (without a window manager, `xwd -root` shows dialogs as
black rectangles) into artifacts/screenshots/dialog-NAME-SCALE-THEME.png, for a person to look at. Skipped
only where there is no Xvfb.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.screen import light_share
from tests.support.show_dialog import DIALOGS
from tests.support.xvfb import xvfb

pytestmark = pytest.mark.skipif(
    not all(shutil.which(t) for t in ("Xvfb", "xwd", "convert", "identify")),
    reason="needs Xvfb, xwd and ImageMagick (Debian: xvfb x11-apps imagemagick)",
)

ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "artifacts" / "screenshots"
SCREEN = (3200, 2000)  # room for a dialog at 200 %, as on a high-density screen


@pytest.fixture(scope="module")
def display() -> Iterator[str]:
    with xvfb(SCREEN) as name:
        yield name


def photograph(display: str, name: str, scale: int, theme: str, tmp_path: Path) -> tuple[dict[str, object], Path]:
    env = {**os.environ, "DISPLAY": display, "QT_QPA_PLATFORM": "xcb", "QT_SCALE_FACTOR": str(scale),
           "LMSCALES_CONFIG_DIR": str(tmp_path), "LMSCALES_LOG_DIR": str(tmp_path / "logs")}
    shown = subprocess.Popen([sys.executable, "-m", "tests.support.show_dialog", name, "--theme", theme],
                             cwd=ROOT, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    try:
        assert shown.stdout is not None and shown.stdin is not None
        line = shown.stdout.readline()
        assert line, f"{name} did not show: {shown.stderr.read() if shown.stderr else ''}"
        report = json.loads(line)
        SHOTS.mkdir(parents=True, exist_ok=True)
        target = SHOTS / f"dialog-{name}-{scale * 100}-{theme}.png"
        xwd = subprocess.run(["xwd", "-id", str(report["window"]), "-silent", "-display", display],
                             capture_output=True, check=True, timeout=30)
        subprocess.run(["convert", "xwd:-", str(target)], input=xwd.stdout, check=True, timeout=60)
        shown.stdin.close()
        assert shown.wait(timeout=20) == 0
        errors = shown.stderr.read() if shown.stderr else ""
    finally:
        if shown.poll() is None:
            shown.kill()
            shown.wait()
    assert "Traceback" not in errors, errors
    return report, target


def identify(path: Path, fmt: str) -> str:
    return subprocess.run(["identify", "-format", fmt, str(path)], capture_output=True, text=True,
                          check=True).stdout.strip()


@pytest.mark.parametrize("theme", ["light", "dark"])
@pytest.mark.parametrize("scale", [1, 2], ids=["100%", "200%"])
@pytest.mark.parametrize("name", DIALOGS)
def test_each_dialog_fits_its_content(display: str, name: str, scale: int, theme: str, tmp_path: Path) -> None:
    report, shot = photograph(display, name, scale, theme, tmp_path)
    assert report["cut"] == [], f"{name} at {scale * 100} %: cut off: {report['cut']}"
    width, height = (int(v) for v in identify(shot, "%w %h").split())
    assert [width, height] == report["size"]
    assert width <= SCREEN[0] and height <= SCREEN[1]
    assert int(identify(shot, "%k")) > 20, f"{shot} looks blank"  # text and controls, not a black rectangle
    # ... in the theme it was asked for: mostly light in the light one, mostly dark in the dark one.
    share = light_share(shot)
    assert share > 0.5 if theme == "light" else share < 0.5, f"{shot}: {share:.0%} light in the {theme} theme"


def test_dialogs_scale_with_the_screen(display: str, tmp_path: Path) -> None:
    """At 200 % the endpoint dialog is twice as large in pixels: sized by its font, not fixed pixels."""
    small, _ = photograph(display, "endpoint", 1, "dark", tmp_path)
    large, _ = photograph(display, "endpoint", 2, "dark", tmp_path)
    assert large["size"][0] == pytest.approx(2 * small["size"][0], rel=0.1)  # type: ignore[index]
