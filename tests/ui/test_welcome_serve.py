"""The welcome's "A server on this computer": it names `lmscales serve` where that command can run, and it
finds the server that command starts."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from lmscales.bench.servers import LlamaServer
from lmscales.core.endpoints import Preset, detect_local_servers
from lmscales.ui.welcome import Welcome


@pytest.mark.slow
def test_the_welcome_offers_lmscales_serve_and_finds_the_server_it_starts(qtbot, bundled_model: Path) -> None:  # type: ignore[no-untyped-def]
    server = LlamaServer(bundled_model)  # `lmscales serve`, on a port of its own (not 8080: tests run side by side)
    preset = Preset("llama.cpp server", server.base_url, False)
    welcome = Welcome(detect=lambda: detect_local_servers((preset,)))
    qtbot.addWidget(welcome)
    assert ("Or run `lmscales serve` in a terminal: the bundled model as a server on this computer, no account "
            "needed.") in welcome.notes["server"].text()

    qtbot.mouseClick(welcome.buttons["server"], Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: welcome.buttons["server"].isEnabled())
    assert "No server answers on this computer's usual ports" in welcome.server_note.text()
    assert "Start one (`lmscales serve` in a terminal starts one on port 8080), then look again." \
        in welcome.server_note.text()
    assert not welcome.use_server_button.isVisibleTo(welcome)

    with server:
        qtbot.mouseClick(welcome.buttons["server"], Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: welcome.buttons["server"].isEnabled())
        assert welcome.server_note.text() == "Found llama.cpp server (1 model)."
        assert welcome.use_server_button.isVisibleTo(welcome)


def test_where_lmscales_serve_cannot_run_the_welcome_does_not_offer_it(qtbot, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    # As in the installed app, which leaves llama-cpp-python's web stack out: uvicorn cannot be imported.
    monkeypatch.setitem(sys.modules, "uvicorn", None)
    welcome = Welcome(detect=lambda: [])
    qtbot.addWidget(welcome)
    assert welcome.notes["server"].text() == "Ollama, LM Studio, llama.cpp or vLLM, already running here."
    qtbot.mouseClick(welcome.buttons["server"], Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: welcome.buttons["server"].isEnabled())
    assert welcome.server_note.text().endswith("Start one, then look again.")
    assert "lmscales serve" not in welcome.server_note.text()
