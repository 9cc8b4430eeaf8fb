"""Settings in the window: the dialog, persistence, a corrupt file, the API key, the crash reporter."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtWidgets import QDoubleSpinBox, QPlainTextEdit, QSpinBox

from lmscales.core import secrets
from lmscales.core.endpoints import Endpoint
from lmscales.core.logs import close_logging, setup_logging
from lmscales.core.settings import Settings, load_settings
from lmscales.core.workspace import Workspace
from lmscales.ui.crash import CrashReporter
from lmscales.ui.main_window import MainWindow
from lmscales.ui.settings_dialog import SettingsDialog

KEY = "sk" "-settings-SECRET-0123456789abcdef"


@pytest.fixture
def bare_window(qtbot, tmp_path: Path) -> Iterator[MainWindow]:  # type: ignore[no-untyped-def]
    """A window with no model loaded and settings saved under tmp_path."""
    window = MainWindow(Workspace(), settings=Settings(),
                        settings_path=tmp_path / "settings.json")
    qtbot.addWidget(window)
    yield window
    window.settings.set_offline(False, remember=False)


def test_dialog_edits_every_section_and_refuses_bad_values(qtbot, bare_window: MainWindow) -> None:  # type: ignore[no-untyped-def]
    dialog = SettingsDialog(bare_window.settings.settings, "No large model is set up.", bare_window)
    qtbot.addWidget(dialog)
    paths = set(dialog.fields)
    for expected in ("generation.temperature", "local_engine.n_ctx", "local_engine.threads", "sampler.rate_hz",
                     "theme", "offline", "system_prompts.chat", "run_mode"):
        assert expected in paths
    assert all(field.widget.toolTip() for field in dialog.fields.values())  # every setting explains itself
    temperature = dialog.fields["generation.temperature"].widget
    assert isinstance(temperature, QDoubleSpinBox)
    temperature.setValue(1.3)
    threads = dialog.fields["local_engine.threads"].widget
    assert isinstance(threads, QSpinBox) and threads.text() == "auto"
    dialog._add_price_row("gpt-4o", 1.0, 2.0)
    edited = dialog.collect()
    assert edited.generation.temperature == pytest.approx(1.3)
    assert edited.local_engine.threads is None
    assert edited.price_overrides[0].model == "gpt-4o"
    prompt = dialog.fields["system_prompts.chat"].widget
    assert isinstance(prompt, QPlainTextEdit)
    prompt.setPlainText("   ")
    dialog._on_accept()
    assert dialog.result_settings is None and dialog.message.text().startswith("⚠")
    assert "system_prompts.chat" in dialog.message.text()


def test_settings_are_applied_and_saved(bare_window: MainWindow, tmp_path: Path) -> None:
    controller = bare_window.settings
    settings = Settings().with_value("generation.max_tokens", 99).with_value("run_mode", "sequential")
    settings = settings.with_value("sampler.rate_hz", 10.0)
    controller.apply(settings)
    assert bare_window.generation.max_tokens.value() == 99 and bare_window.generation.sequential
    assert bare_window.monitor.rate_hz == 10.0
    bare_window.generation.temperature.setValue(0.2)  # changed in the window itself
    bare_window.close()
    saved = load_settings(tmp_path / "settings.json")
    assert saved.notice is None
    assert saved.settings.generation.max_tokens == 99
    assert saved.settings.generation.temperature == pytest.approx(0.2)


def test_a_corrupt_settings_file_starts_with_defaults_and_says_so_once(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from lmscales.ui.app import build_window

    path = tmp_path / "settings.json"
    path.write_text("{ this is not json")
    loaded = load_settings(path)
    window, workspace = build_window(settings=loaded, threads=1)
    qtbot.addWidget(window)
    try:
        assert "default settings" in window.statusBar().currentMessage()
        assert any(p.name.startswith("settings.json.bad-") for p in tmp_path.iterdir())
        assert load_settings(path).notice is None  # said once
    finally:
        window.close()
        window.stop()
        window.shutdown()
        workspace.close()


def test_the_api_key_never_reaches_a_file(
    bare_window: MainWindow, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    log_file = setup_logging(tmp_path / "logs")
    try:
        endpoint = Endpoint("https://api.example.invalid/v1", "big-model", KEY, name="Custom")
        monkeypatch.setattr("lmscales.ui.settings_controller.EndpointDialog.exec", lambda self: 1)
        monkeypatch.setattr("lmscales.ui.settings_controller.EndpointDialog.endpoint", lambda self: endpoint)
        bare_window.configure_endpoint()
        status = bare_window.panes["large"].status.text()
        assert "will not be remembered" in status  # no keyring here: the key lives for this session only
        assert KEY not in status
        assert bare_window.settings.endpoint() == endpoint  # the session still has it
        logging.getLogger("lmscales.test").warning("the user pasted %s somewhere", KEY)
        bare_window.history.export(tmp_path / "runs.json")
        bare_window.close()
        saved = json.loads((tmp_path / "settings.json").read_text())
        assert saved["endpoint"]["configured"] is True and saved["endpoint"]["model"] == "big-model"
    finally:
        close_logging()
        secrets.forget_session_keys()
    written = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert log_file in written and len(written) >= 3
    for path in written:
        assert KEY not in path.read_text(errors="replace"), path


def test_crash_reporter_logs_redacts_and_keeps_going(qtbot, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import threading

    monkeypatch.setattr(sys, "excepthook", sys.excepthook)  # restored after the test, whatever install() does
    monkeypatch.setattr(threading, "excepthook", threading.excepthook)
    log_file = setup_logging(tmp_path / "logs")
    reporter = CrashReporter(show_dialog=False)
    reporter.install()
    secrets.register_secret(KEY)
    try:
        try:
            raise RuntimeError(f"the server said no to {KEY}")
        except RuntimeError:
            kind, error, traceback = sys.exc_info()
        with qtbot.waitSignal(reporter.reported, timeout=5_000) as caught:
            sys.excepthook(kind, error, traceback)  # what Python calls for an uncaught error on the GUI thread

        def worker() -> None:
            raise ValueError(f"a worker failed with {KEY}")

        # An uncaught error on a worker thread goes through threading.excepthook and reaches the GUI thread.
        with qtbot.waitSignal(reporter.reported, timeout=5_000) as from_worker:
            thread = threading.Thread(target=worker)
            thread.start()
            thread.join()
    finally:
        close_logging()
    text = caught.args[0]
    assert "RuntimeError" in text and str(log_file) in text and KEY not in text
    assert "ValueError" in from_worker.args[0] and KEY not in from_worker.args[0]
    logged = log_file.read_text()
    assert "Traceback" in logged and "RuntimeError" in logged and "ValueError" in logged and KEY not in logged


def test_endpoint_dialog_offers_local_servers_and_checks_what_is_typed(qtbot, fault_server, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from lmscales.core.endpoints import Preset, detect_local_servers
    from lmscales.ui.endpoint_dialog import EndpointDialog

    local = (Preset("Ollama", fault_server.url("ok"), False),)
    monkeypatch.setattr("lmscales.ui.endpoint_dialog.detect_local_servers", lambda: detect_local_servers(local))
    dialog = EndpointDialog(None)
    qtbot.addWidget(dialog)
    qtbot.waitUntil(lambda: "Found:" in dialog.message.text(), timeout=5_000)  # offered without asking
    assert dialog.base_url.text() == fault_server.url("ok")
    assert dialog.model.currentText() == "fault-model"
    dialog.fetch_models()
    qtbot.waitUntil(lambda: "offers 2 models" in dialog.message.text(), timeout=5_000)
    dialog.base_url.setText("http://127.0.0.1:99999/v1")
    dialog._on_accept()
    assert "not a valid port" in dialog.message.text() and dialog.result() == 0
    dialog.base_url.setText("localhost:11434/v1")
    dialog._on_accept()
    assert "must start with http:// or https://" in dialog.message.text()


def test_the_generation_panel_starts_from_the_shared_defaults(qtbot) -> None:  # type: ignore[no-untyped-def]
    from lmscales.core.defaults import GENERATION_DEFAULTS
    from lmscales.ui.generation_panel import GenerationPanel

    panel = GenerationPanel()
    qtbot.addWidget(panel)
    assert panel.params() == GENERATION_DEFAULTS


def test_each_part_of_the_window_hears_the_settings_it_uses(bare_window: MainWindow) -> None:
    shown: list[float] = []
    bare_window.settings.store.subscribe("sampler.window_seconds", lambda change: shown.append(
        change.new.sampler.window_seconds))
    settings = bare_window.settings.settings.with_value("sampler.window_seconds", 300.0)
    bare_window.settings.apply(settings.with_value("generation.max_tokens", 77))
    assert shown == [300.0]
    assert bare_window.resources.window_s == 300.0  # the graphs show five minutes
    assert bare_window.monitor.window_s >= 300.0  # and the monitor keeps that much
    assert bare_window.generation.max_tokens.value() == 77
    bare_window.settings.apply(bare_window.settings.settings.with_value("generation.max_tokens", 78))
    assert shown == [300.0]  # a generation setting does not disturb the graphs


def test_keeping_history_off_writes_no_history_file(qtbot, bundled_model: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from lmscales.core.history import TrialHistory
    from tests.conftest import load_small, wait_idle, window_workspace

    path = tmp_path / "data" / "history.jsonl"
    workspace = window_workspace(bundled_model, TrialHistory.open(path), n_ctx=1024)
    window = MainWindow(workspace, settings=Settings().with_value("keep_history", False))
    qtbot.addWidget(window)
    try:
        assert "this session only" in window.history.title.text()
        load_small(qtbot, window, bundled_model)
        window.generation.max_tokens.setValue(8)
        window.tasks.chat_input.setPlainText("Hi")
        window.send(("small",))
        wait_idle(qtbot, window)
        qtbot.waitUntil(lambda: window.history.row_count() == 1)
        assert not path.exists()  # shown for this session, written nowhere
        window.settings.apply(window.settings.settings.with_value("keep_history", True))
        assert "kept between sessions" in window.history.title.text()
    finally:
        window.shutdown()
        workspace.close()
