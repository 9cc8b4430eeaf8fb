"""Settings › Large model tells the truth about the large side in use: the endpoint that is running (also one
given on the command line, marked as such and never saved), and where its API key is kept (the system keyring,
the environment, or this session only). Read as the user reads it, in the open dialog, whose picture is kept in
artifacts/screenshots/ for a person to look at."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import keyring
import keyring.backends.fail
import pytest
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QComboBox, QDialogButtonBox, QLineEdit

from lmscales.core import secrets
from lmscales.core.settings import Settings, load_settings
from lmscales.core.workspace import Workspace
from lmscales.ui.app import command_line_endpoint
from lmscales.ui.main_window import MainWindow
from lmscales.ui.settings_dialog import SettingsDialog
from tests.conftest import free_port
from tests.core.test_secrets_and_logs import MemoryKeyring

KEY = "sk" "-large-model-settings-0123456789abcdef"
SHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"


@pytest.fixture(autouse=True)
def clean_keys(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in ("LMSCALES_API_KEY", "OPENAI_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    secrets.forget_session_keys()
    yield
    secrets.forget_session_keys()
    keyring.set_keyring(keyring.backends.fail.Keyring())


def make_window(qtbot, tmp_path: Path, settings: Settings, command_line=None) -> MainWindow:  # type: ignore[no-untyped-def]
    window = MainWindow(Workspace(), settings=settings, settings_path=tmp_path / "settings.json",
                        session_endpoint=command_line)
    qtbot.addWidget(window)
    window.settings.apply_endpoint()  # as at start
    return window


def in_settings(window: MainWindow, action: Callable[[SettingsDialog], None], shot: str) -> dict[str, str]:
    """Open Settings › Large model, read what it says, photograph it, then let `action` finish it (OK, edit…)."""
    seen: dict[str, str] = {}
    failure: list[BaseException] = []

    def look() -> None:
        dialog = next((w for w in QApplication.topLevelWidgets() if isinstance(w, SettingsDialog) and w.isVisible()),
                      None)
        if dialog is None:  # not shown yet
            QTimer.singleShot(10, look)
            return
        try:
            dialog.tabs.setCurrentIndex(next(i for i in range(dialog.tabs.count())
                                             if dialog.tabs.tabText(i) == "Large model"))
            preset = dialog.fields["endpoint.preset"].widget
            base_url = dialog.fields["endpoint.base_url"].widget
            model = dialog.fields["endpoint.model"].widget
            assert isinstance(preset, QComboBox) and isinstance(base_url, QLineEdit) and isinstance(model, QLineEdit)
            seen.update(preset=preset.currentText(), base_url=base_url.text(), model=model.text(),
                        origin=dialog.endpoint_note.text() if dialog.endpoint_note.parent() else "",
                        key=dialog.key_note.text())
            SHOTS.mkdir(parents=True, exist_ok=True)
            dialog.grab().save(str(SHOTS / f"settings-large-{shot}.png"))
            action(dialog)
        except BaseException as error:  # never leave the modal dialog open: the test would hang
            failure.append(error)
            dialog.reject()

    QTimer.singleShot(0, look)
    window.open_settings()
    if failure:
        raise failure[0]
    return seen


def press_ok(dialog: SettingsDialog) -> None:
    buttons = dialog.findChild(QDialogButtonBox)
    assert buttons is not None
    buttons.button(QDialogButtonBox.StandardButton.Ok).click()


def test_a_command_line_endpoint_is_shown_as_such_and_ok_keeps_it(qtbot, tmp_path: Path,  # type: ignore[no-untyped-def]
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LMSCALES_API_KEY", KEY)
    url = f"http://127.0.0.1:{free_port()}/v1"
    running = command_line_endpoint(url, "gemma-270m")
    window = make_window(qtbot, tmp_path, Settings(), running)  # nothing saved: the defaults are OpenAI's
    assert window.endpoint == running

    seen = in_settings(window, press_ok, "command-line")
    assert (seen["preset"], seen["base_url"], seen["model"]) == ("Custom", url, "gemma-270m")
    assert "from the command line" in seen["origin"] and "this session only" in seen["origin"]
    assert "no large model is saved" in seen["origin"]
    host = url.split("//")[1].split("/")[0]
    assert seen["key"] == (f"The API key for {host} comes from the environment variable LMSCALES_API_KEY; "
                           "LM Scales does not save it anywhere.")
    assert KEY not in json.dumps(seen)

    # OK without a change keeps the running endpoint and saves nothing of it
    assert window.endpoint == running and window.settings.endpoint() == running
    saved = load_settings(tmp_path / "settings.json").settings.endpoint
    assert not saved.configured and saved.base_url == Settings().endpoint.base_url


def test_a_command_line_endpoint_beside_a_saved_one_names_both_and_ok_keeps_the_saved_one(  # type: ignore[no-untyped-def]
        qtbot, tmp_path: Path) -> None:
    saved = (Settings().with_value("endpoint.preset", "Groq")
             .with_value("endpoint.base_url", "https://api.groq.com/openai/v1")
             .with_value("endpoint.model", "openai/gpt-oss-120b").with_value("endpoint.configured", True))
    running = command_line_endpoint("http://127.0.0.1:8080/v1", "gemma-270m")
    window = make_window(qtbot, tmp_path, saved, running)

    seen = in_settings(window, press_ok, "command-line-and-saved")
    assert seen["preset"] == "llama.cpp server" and seen["model"] == "gemma-270m"
    assert "your saved large model (Groq · https://api.groq.com/openai/v1 · openai/gpt-oss-120b) is unchanged" \
        in seen["origin"]
    assert seen["key"] == ("No API key is set for 127.0.0.1:8080: none was in LMSCALES_API_KEY when LM Scales "
                           "started.")
    assert window.endpoint == running
    kept = load_settings(tmp_path / "settings.json").settings.endpoint
    assert (kept.preset, kept.model, kept.configured) == ("Groq", "openai/gpt-oss-120b", True)


def test_a_model_typed_over_the_command_lines_is_used_and_saved(qtbot, tmp_path: Path,  # type: ignore[no-untyped-def]
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LMSCALES_API_KEY", KEY)
    url = f"http://127.0.0.1:{free_port()}/v1"
    window = make_window(qtbot, tmp_path, Settings(), command_line_endpoint(url, "gemma-270m"))

    def choose_another_model(dialog: SettingsDialog) -> None:
        model = dialog.fields["endpoint.model"].widget
        assert isinstance(model, QLineEdit)
        model.setText("gemma-1b")
        press_ok(dialog)

    in_settings(window, choose_another_model, "command-line-edited")
    assert window.endpoint is not None and (window.endpoint.base_url, window.endpoint.model) == (url, "gemma-1b")
    assert window.settings.session_endpoint is None
    saved = json.loads((tmp_path / "settings.json").read_text())["endpoint"]
    assert (saved["base_url"], saved["model"], saved["configured"]) == (url, "gemma-1b", True)
    seen = in_settings(window, press_ok, "saved-from-environment")
    assert seen["origin"] == "" and seen["model"] == "gemma-1b"
    assert "comes from the environment variable LMSCALES_API_KEY" in seen["key"]


def saved_loopback() -> Settings:
    return (Settings().with_value("endpoint.preset", "llama.cpp server")
            .with_value("endpoint.base_url", "http://127.0.0.1:8080/v1").with_value("endpoint.model", "gemma-270m")
            .with_value("endpoint.configured", True))


def test_a_key_in_the_keyring_is_said_to_be_there(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    assert secrets.store_key("http://127.0.0.1:8080/v1", KEY).persisted
    secrets.forget_session_keys()  # as after a restart: read back from the keyring
    window = make_window(qtbot, tmp_path, saved_loopback())

    seen = in_settings(window, press_ok, "keyring")
    assert seen["origin"] == ""  # the fields show what is saved and in use
    assert (seen["preset"], seen["base_url"]) == ("llama.cpp server", "http://127.0.0.1:8080/v1")
    assert seen["key"] == (f"The API key for 127.0.0.1:8080 is kept in the system keyring ({backend.name}), "
                           "never in settings.")
    assert window.endpoint is not None and window.endpoint.api_key == KEY


def test_a_key_kept_for_this_session_only_is_said_to_be_so(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    # The tests' keyring is keyring's fail backend: no system keyring, as on a headless Linux.
    assert not secrets.store_key("http://127.0.0.1:8080/v1", KEY).persisted
    window = make_window(qtbot, tmp_path, saved_loopback())

    seen = in_settings(window, press_ok, "session-only")
    assert seen["key"] == ("The API key for 127.0.0.1:8080 is kept for this session only (no system keyring is "
                           "available): LM Scales forgets it when it quits, and it is never in settings.")
    assert window.endpoint is not None and window.endpoint.api_key == KEY


def test_with_no_large_model_the_fields_are_called_defaults(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    window = make_window(qtbot, tmp_path, Settings())
    seen = in_settings(window, press_ok, "not-set-up")
    assert seen["origin"].startswith("No large model is set up: the fields below are only the defaults.")
    assert seen["key"] == "No large model is set up."
    assert window.endpoint is None
