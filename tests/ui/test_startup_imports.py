"""The window starts without the libraries it does not need yet (issue 22 item 7: start-up).

The `openai` SDK (and its httpx2) takes longer to import than the rest of the window together; the quality
checks' libraries (sacrebleu, rouge-score, nltk, py3langid) are needed only when an answer is scored; and
llama.cpp runs in the engine's own process, so the window's process never loads `llama_cpp` at all. Each is
checked in a fresh interpreter, where nothing earlier in the test run can have imported it.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

# What a shown window must not have imported: the remote side's SDK and transport load when a remote side
# first runs (or its models are listed), the scoring libraries when an answer is first scored.
NOT_AT_START = ("openai", "httpx2", "llama_cpp", "sacrebleu", "rouge_score", "nltk", "py3langid")

# Builds the window as the app does (`build_window`: settings applied, the small model loading in its engine
# process, the resource monitor on), shows it, and reports which of the modules are loaded: once the window
# is shown, and again once the small model has loaded.
WINDOW_START = """
import json, sys
from PySide6.QtCore import QEventLoop, QTimer
from PySide6.QtWidgets import QApplication

names = json.loads(sys.argv[1])
app = QApplication(sys.argv[:1])
from lmscales.ui.app import build_window

window, workspace = build_window(threads=1, n_ctx=512)
loader = window.loaders["small"]
outcome = {}
wait = QEventLoop()
loader.loaded.connect(lambda _model: (outcome.setdefault("model", "loaded"), wait.quit()))
loader.loadFailed.connect(lambda message: (outcome.setdefault("model", message), wait.quit()))
window.show()
app.processEvents()
shown = [name for name in names if name in sys.modules]
if not outcome:
    QTimer.singleShot(120_000, wait.quit)  # a safety net only: the load ends the wait
    wait.exec()
loaded = [name for name in names if name in sys.modules]
window.shutdown()
workspace.close()
print(json.dumps({"shown": shown, "loaded": loaded, "model": outcome.get("model")}))
"""


def _fresh_interpreter(code: str, home: Path, *args: str) -> str:
    env = {key: value for key, value in os.environ.items() if not key.startswith("XDG_")}
    env.update(HOME=str(home), USERPROFILE=str(home), APPDATA=str(home), LOCALAPPDATA=str(home),
               QT_QPA_PLATFORM="offscreen")
    result = subprocess.run([sys.executable, "-c", code, *args], cwd=home, env=env, capture_output=True,
                            text=True, encoding="utf-8", check=False, timeout=300)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result.stdout.strip().splitlines()[-1]


def test_importing_the_window_leaves_out_the_remote_sdk_the_scorers_and_llama_cpp(tmp_path: Path) -> None:
    code = "import json, sys; import lmscales.ui.app; print(json.dumps([n for n in sys.argv[1:] if n in sys.modules]))"
    assert json.loads(_fresh_interpreter(code, tmp_path, *NOT_AT_START)) == []


@pytest.mark.timeout(300)
def test_the_shown_window_loads_its_model_without_those_libraries(tmp_path: Path, bundled_model: Path) -> None:
    """Not while the window is built and shown, nor once the small model has loaded: that happens in the
    engine's process, and the window only talks to it."""
    report = json.loads(_fresh_interpreter(WINDOW_START, tmp_path, json.dumps(NOT_AT_START)))
    assert report["model"] == "loaded", report  # it really loaded, so the check after the load means something
    assert report["shown"] == [], "imported while the window started"
    assert report["loaded"] == [], "imported by loading the small model"


def test_the_endpoint_dialog_says_why_a_listing_failed_with_the_sdk_imported_late(qtbot, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """The dialog no longer imports the remote side's error type when it is built; a listing that fails (here:
    nothing listens on the port) still reads as the remote side's sentence with the way out, not as
    "Could not list models"."""
    from lmscales.ui import endpoint_dialog
    from lmscales.ui.endpoint_dialog import EndpointDialog

    monkeypatch.setattr(endpoint_dialog, "detect_local_servers", lambda: [])
    with socket.socket() as probe:  # a port that was free a moment ago: connections to it are refused
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    dialog = EndpointDialog(None)
    qtbot.addWidget(dialog)
    dialog.base_url.setText(f"http://127.0.0.1:{port}/v1")
    dialog.fetch_models()
    qtbot.waitUntil(lambda: dialog.fetch_button.isEnabled() and "Asking" not in dialog.message.text(), timeout=30_000)
    message = dialog.message.text()
    assert message.endswith(" You can still type a model name."), message
    assert "Could not list models" not in message and f"127.0.0.1:{port}" in message, message
