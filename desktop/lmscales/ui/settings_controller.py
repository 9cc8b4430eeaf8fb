"""Settings, the API key and offline mode, kept between runs.

This object owns what LM Scales remembers: a `SettingsStore` holding the frozen `Settings`, saved atomically
to the platform's config folder when a path is given. It knows no window: each part of the window subscribes
to the store for the settings it uses (qutebrowser's change filter), and what this object decides for the
window (which endpoint the large side gets, a model to load) goes out as signals. It also enforces offline
mode: the large side is off unless it is a server on this computer, and the process-wide guard in
`lmscales.core.offline` refuses any other connection.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QWidget

from lmscales.core import offline, secrets
from lmscales.core.bundled_model import ModelFileError, load_manifest, verify
from lmscales.core.endpoints import Endpoint, env_api_key
from lmscales.core.engines.remote import ParameterMemory, RemoteOptions
from lmscales.core.events import EngineError
from lmscales.core.settings import Settings, SettingsStore, changed, refused_entry, save_settings
from lmscales.core.thread_counts import ThreadTable
from lmscales.ui.background import run_on_main, runner
from lmscales.ui.endpoint_dialog import EndpointDialog
from lmscales.ui.large_model_notes import key_note, origin_note
from lmscales.ui.settings_dialog import SettingsDialog
from lmscales.ui.shortcuts import native

log = logging.getLogger(__name__)

# Errors after which the network counts as unreachable: the app falls back to offline for this session.
UNREACHABLE = {"dns", "connection"}
# The settings that name the large side; the rest of its section (timeouts, ...) applies to any endpoint.
ENDPOINT_IDENTITY = ("endpoint.preset", "endpoint.base_url", "endpoint.model")


def offline_message(endpoint: Endpoint | None, reason: str | None = None) -> str:
    """What the large pane says offline, in paragraphs: why (what offline mode does, or `reason` when the app fell
    back to offline by itself), then what still works and the way back."""
    if reason:
        why = f"{reason}\n\nSwitched to offline mode for this session; the small side keeps working."
    else:
        where = f" (it would contact {endpoint.host})" if endpoint is not None else ""
        why = (f"Offline mode: only the small model runs, and LM Scales opens no connection beyond this computer"
               f"{where}.")
    return (f"{why}\n\nA large model served on this computer (Ollama, LM Studio, llama.cpp) still works offline. "
            f"Leave offline mode with the button below or Settings › Work offline ({native('Ctrl+Shift+F')}).")


class SettingsController(QObject):
    offlineChanged = Signal(bool)
    notice = Signal(str)
    endpointChanged = Signal(object, object)  # Endpoint or None; (placeholder text, button text) or None
    modelRequested = Signal(str, object, object)  # GGUF path, context tokens, threads
    modelProblem = Signal(str)  # the small model cannot be found or verified
    measureRequested = Signal()  # "Measure again" in the settings
    threadsSettingChanged = Signal(object)  # LocalEngineSettings: threads, their choice, adaptation, the cache
    keyNote = Signal(str)  # what became of an API key, for the large side's pane

    def __init__(self, settings: Settings, path: Path | None = None,
                 session_endpoint: Endpoint | None = None,
                 session_values: dict[str, tuple[object, object]] | None = None,
                 dialog_parent: QWidget | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.store = SettingsStore(settings)
        self.path = path  # None: nothing is written (tests, demos)
        self.session_endpoint = session_endpoint  # from the command line: used, never saved
        # path -> (value for this session, value to save): command-line choices are not remembered
        self.session_values = dict(session_values or {})
        self.dialog_parent = dialog_parent
        # What the user changed in the window itself (generation panel, prompts), folded in before saving.
        self.capture_window: Callable[[Settings], Settings] = lambda settings: settings
        # The small model's measured thread table, for the settings to show (the window knows the engine).
        self.thread_table: Callable[[], ThreadTable | None] = lambda: None
        self.offline = False
        self.offline_reason: str | None = None
        # Parameters a model refused, for this session and (through the settings) the next one. A run learns
        # them on its own thread; `_on_learned` hands them to the GUI thread before the settings change.
        runner()  # made now, on the GUI thread, so that a run's thread can hand work to it later
        self.parameter_memory = ParameterMemory(settings.endpoint.refused(), on_learned=self._on_learned)
        # A new file or context size takes a reload; threads, their choice and the cache apply to the next run.
        self.store.subscribe(("local_engine.model_path", "local_engine.n_ctx"),
                             lambda change: self._load_local_engine())
        self.store.subscribe(("local_engine.threads", "local_engine.threads_preference", "local_engine.adapt_threads",
                              "local_engine.reuse_prompt_cache", "local_engine.measure_threads"),
                             lambda change: self.threadsSettingChanged.emit(change.new.local_engine))
        self.store.subscribe("offline", lambda change: self._on_offline_setting(change.new))

    @property
    def settings(self) -> Settings:
        return self.store.current

    def remote_options(self) -> RemoteOptions:
        """How the large side talks to its API: the timeouts from the settings."""
        values = self.settings.endpoint
        return RemoteOptions(connect_timeout=values.connect_timeout, read_timeout=values.read_timeout)

    def _on_learned(self, host: str, model: str, parameter: str, replacement: str | None) -> None:
        """Called on the run's thread: the settings (and their subscribers, widgets among them) change on the GUI
        thread."""
        run_on_main(lambda: self._keep_refused(host, model, parameter, replacement))

    def _keep_refused(self, host: str, model: str, parameter: str, replacement: str | None) -> None:
        entry = refused_entry(host, model, parameter, replacement)
        same = refused_entry(host, model, parameter, None)  # "host|model|parameter|"
        kept = tuple(e for e in self.settings.endpoint.refused_parameters if not e.startswith(same))
        self.store.replace(self.settings.with_value("endpoint.refused_parameters", (*kept, entry)))
        self.save()

    # -- applying ----------------------------------------------------------------------------------
    def apply(self, settings: Settings, first: bool = False) -> None:
        """Put `settings` into effect: every part that subscribed hears about what changed (on the first
        call, the window applies everything itself, then the model loads and offline mode is set)."""
        self.store.replace(settings)
        if first:
            self._load_local_engine()
            self.set_offline(settings.offline, remember=False)

    def _on_offline_setting(self, settings: Settings) -> None:
        wanted = settings.offline or (self.offline and self.offline_reason is not None)  # a fallback stays on
        if wanted != self.offline:
            self.set_offline(wanted, remember=False)

    def _load_local_engine(self) -> None:
        values = self.settings.local_engine
        threads = values.threads  # None: from the measured table once loaded
        path = str(values.model_path) if values.model_path else None
        if path is None:
            try:
                path = str(verify(load_manifest()))
            except ModelFileError as error:
                self.modelProblem.emit(str(error))
                return
        self.modelRequested.emit(path, values.n_ctx, threads)  # a new context or thread count takes a reload

    def endpoint(self) -> Endpoint | None:
        """The large side to use: the command line's for this session, else the saved one if set up."""
        if self.session_endpoint is not None:
            return self.session_endpoint
        saved = self.settings.endpoint
        if not saved.configured:
            return None
        return saved.to_endpoint(secrets.load_key(saved.base_url) or env_api_key(saved.base_url))

    def apply_endpoint(self) -> None:
        endpoint = self.endpoint()
        if self.offline and endpoint is not None and not endpoint.is_loopback:
            self.endpointChanged.emit(None, (offline_message(endpoint, self.offline_reason), "Work online"))
            return
        self.endpointChanged.emit(endpoint, None)

    # -- offline -------------------------------------------------------------------------------------
    def set_offline(self, on: bool, remember: bool = True, reason: str | None = None) -> None:
        """Offline on or off. `remember` saves it; an automatic fallback (`reason`) lasts for this session."""
        self.offline = on
        self.offline_reason = reason if on else None
        if on:
            offline.enable()
        else:
            offline.disable()
        if remember and self.settings.offline != on:
            self.store.replace(self.settings.with_value("offline", on))
            self.save()
        self.apply_endpoint()
        self.offlineChanged.emit(on)

    def on_remote_failed(self, error: EngineError) -> None:
        """Automatic fallback: a remote side that cannot be reached at all switches the app offline."""
        endpoint = self.endpoint()
        if error.kind in UNREACHABLE and not self.offline and endpoint is not None and not endpoint.is_loopback:
            self.set_offline(True, remember=False, reason=f"The large side is unreachable: {error.message}")

    # -- dialogs -------------------------------------------------------------------------------------
    def key_note(self) -> str:
        return key_note(self.endpoint(), from_command_line=self.session_endpoint is not None)

    def shown_in_dialog(self) -> Settings:
        """The settings as the dialog shows them: the large side that is in use, even when it came from the
        command line and is not the saved one."""
        shown = self.capture()
        running = self.session_endpoint
        if running is not None:
            try:
                shown = (shown.with_value("endpoint.preset", running.name)
                         .with_value("endpoint.base_url", running.base_url)
                         .with_value("endpoint.model", running.model))
            except (KeyError, ValueError):  # not expressible as a setting: the note above the fields says it
                log.warning("the command line's endpoint cannot be shown in the settings' fields")
        return shown

    def open_dialog(self) -> None:
        shown = self.shown_in_dialog()
        dialog = SettingsDialog(shown, self.key_note(), self.dialog_parent, self.thread_table(),
                                endpoint_note=origin_note(self.session_endpoint, self.settings.endpoint))
        accepted = dialog.exec()
        dialog.deleteLater()
        if not accepted or dialog.result_settings is None:
            return
        result = dialog.result_settings
        new_endpoint = any(result.value(path) != shown.value(path) for path in ENDPOINT_IDENTITY)
        if new_endpoint:  # chosen in the dialog: it is used from now on, and saved
            self.session_endpoint = None
            result = result.with_value("endpoint.configured", True)
        else:  # the endpoint in use stays; the saved one is not overwritten by what the command line gave
            for path in ENDPOINT_IDENTITY:
                result = result.with_value(path, self.settings.value(path))
        for path in changed(self.settings, result):
            self.session_values.pop(path, None)  # set in the dialog: remembered from now on
        self.apply(result)
        self.save()
        if new_endpoint:
            self.apply_endpoint()
        if dialog.endpoint_requested:
            self.configure_endpoint()
        if dialog.measure_requested:
            self.measureRequested.emit()

    def configure_endpoint(self) -> None:
        dialog = EndpointDialog(self.endpoint() or (self.settings.endpoint.to_endpoint()
                                                    if self.settings.endpoint.configured else None),
                                self.dialog_parent)
        accepted = dialog.exec()
        endpoint = dialog.endpoint()
        dialog.deleteLater()
        if not accepted or endpoint is None:
            return
        try:
            saved = self.settings.endpoint.replace(preset=endpoint.name, base_url=endpoint.base_url,
                                                   model=endpoint.model, configured=True)
        except ValueError as error:
            self.notice.emit(f"That endpoint cannot be used: {error}")
            return
        self.session_endpoint = None
        self.store.replace(dataclasses.replace(self.settings, endpoint=saved))
        message = ""
        if endpoint.api_key:
            message = secrets.store_key(endpoint.base_url, endpoint.api_key).message
        self.save()
        self.apply_endpoint()
        if message:
            self.keyNote.emit(message)
            self.notice.emit(message)

    # -- persistence ---------------------------------------------------------------------------------
    def capture(self) -> Settings:
        """The settings with what the user changed in the window itself (generation panel, prompts)."""
        return self.capture_window(self.settings)

    def to_save(self) -> Settings:
        """The settings as they should be remembered: a command-line value still in force is not saved."""
        settings = self.settings
        for path, (session_value, saved_value) in self.session_values.items():
            if settings.value(path) == session_value:
                settings = settings.with_value(path, saved_value)
        return settings

    def save(self) -> None:
        if self.path is None:
            return
        try:
            save_settings(self.to_save(), self.path)
        except OSError as error:
            self.notice.emit(f"Could not save settings to {self.path}: {error.strerror or error}")

    def save_on_close(self) -> None:
        try:
            self.store.replace(self.capture())
        except ValueError as error:  # a value the schema refuses: keep the saved one
            log.warning("settings not captured on close: %s", error)
        self.save()
