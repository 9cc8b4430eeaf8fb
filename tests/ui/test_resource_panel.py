"""The resource graphs, fed by the real monitor, and the per-run summaries they add to the history."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from lmscales.core.resource_monitor import ResourceMonitor
from lmscales.ui.resource_panel import ResourcePanel

BURN = "import time\nx = bytearray(80_000_000)\nend = time.time() + 30\nwhile time.time() < end: pass\n"


@pytest.fixture
def busy_child() -> Iterator[subprocess.Popen[bytes]]:
    child = subprocess.Popen([sys.executable, "-c", BURN])
    yield child
    child.kill()
    child.wait()


@pytest.fixture
def panel(qtbot, busy_child: subprocess.Popen[bytes]) -> Iterator[ResourcePanel]:  # type: ignore[no-untyped-def]
    monitor = ResourceMonitor(rate_hz=20.0)
    monitor.watch("small", busy_child.pid)
    widget = ResourcePanel(monitor)
    qtbot.addWidget(widget)
    widget.resize(900, 400)
    yield widget
    widget.stop()
    monitor.stop()


def _sample(panel: ResourcePanel, count: int = 6) -> None:
    for _ in range(count):
        panel.monitor.sample_once()
        time.sleep(0.05)
    panel.refresh()


def test_curves_show_the_engine_process(panel: ResourcePanel) -> None:
    _sample(panel)
    x, cpu = panel.curves["engine_cpu"].getData()
    assert x is not None and len(x) == 6
    assert (x <= 0).all()  # seconds before now
    assert cpu[-1] > 0  # busy (how busy depends on what else this machine runs; the curve shows it)
    _, rss = panel.curves["engine_rss"].getData()
    assert rss[-1] > 70  # MB: the child holds 80 MB
    assert "engine" in panel.summary.text() and "cores" in panel.summary.text()


def test_a_gguf_large_side_has_its_own_engine_curves(panel: ResourcePanel) -> None:
    busy = panel.monitor.watched_pid("small")
    assert busy is not None
    panel.monitor.unwatch("small")
    panel.monitor.watch("large", busy)  # the large side runs the busy process, the small side none
    _sample(panel)
    _, large_cpu = panel.curves["large_engine_cpu"].getData()
    _, small_cpu = panel.curves["engine_cpu"].getData()
    assert large_cpu[-1] > 0 and np.isnan(small_cpu[-1])
    _, large_rss = panel.curves["large_engine_rss"].getData()
    _, small_rss = panel.curves["engine_rss"].getData()
    assert large_rss[-1] > 70 and np.isnan(small_rss[-1])


def test_markers_follow_time_and_leave_the_window(panel: ResourcePanel) -> None:
    now = time.perf_counter()
    panel.mark("small", "sent", now - 1.0)
    panel.mark("small", "first token", now - 0.5)
    panel.mark("large", "finished", now - 500.0)  # older than any window
    _sample(panel, 2)
    assert panel.marker_count == 2
    positions = sorted(m.line.value() for m in panel._markers)
    assert -1.2 < positions[0] < -0.9


def test_pause_freezes_the_graphs(panel: ResourcePanel) -> None:
    _sample(panel, 2)
    updates = panel.updates
    panel.pause_box.setChecked(True)
    _sample(panel, 2)
    assert panel.updates == updates
    panel.pause_box.setChecked(False)
    _sample(panel, 1)
    assert panel.updates == updates + 1


def test_rate_and_window_controls(panel: ResourcePanel) -> None:
    panel.rate_combo.setCurrentIndex(panel.rate_combo.findData(4.0))
    assert panel.monitor.rate_hz == 4.0
    panel.window_combo.setCurrentIndex(panel.window_combo.findData(30.0))
    assert panel.cpu.viewRange()[0][0] == pytest.approx(-30.0)


def test_exports(panel: ResourcePanel, tmp_path: Path) -> None:
    _sample(panel, 3)
    csv_path = panel.export_csv(tmp_path / "samples.csv")
    lines = csv_path.read_text().splitlines()
    assert lines[0].startswith("seconds_ago,") and "engine_cpu_percent" in lines[0]
    assert len(lines) == 4
    png = panel.export_png(tmp_path / "graphs.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
