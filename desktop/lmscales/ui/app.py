"""Start the GUI: logs, settings, the workspace (the bundled model loading into its small slot, the large side
if set up) and the window over it."""

from __future__ import annotations

import logging
import sys
from importlib import resources

from PySide6.QtGui import QIcon, QPixmap
from PySide6.QtWidgets import QApplication

from lmscales.core import offline
from lmscales.core.endpoints import PRESETS, Endpoint, env_api_key
from lmscales.core.engines.factory import GgufSpec
from lmscales.core.history import TrialHistory, default_history_path
from lmscales.core.logs import setup_logging
from lmscales.core.resource_monitor import ResourceMonitor
from lmscales.core.settings import LoadResult, Settings, load_settings, settings_path
from lmscales.core.workspace import Workspace
from lmscales.ui.crash import CrashReporter
from lmscales.ui.main_window import MainWindow
from lmscales.ui.presenter_start import DemoOptions, start_demo
from lmscales.ui.theme import apply_theme

log = logging.getLogger(__name__)


def app_icon() -> QIcon:
    icon = QIcon()
    icons = resources.files("lmscales.resources").joinpath("icons")
    for size in (16, 32, 48, 64, 128, 256, 512):
        data = icons.joinpath(f"lmscales-{size}.png").read_bytes()
        pixmap = QPixmap()
        pixmap.loadFromData(data, "PNG")
        icon.addPixmap(pixmap)
    return icon


def command_line_endpoint(base_url: str, model: str) -> Endpoint:
    """The large side given by --base-url and --remote-model, named after the preset with that URL (Settings
    shows it so), its key from the environment (for this session only, never stored)."""
    same = base_url.strip().rstrip("/").lower()
    name = next((p.name for p in PRESETS if p.base_url and p.base_url.rstrip("/").lower() == same), "Custom")
    return Endpoint(base_url=base_url, model=model, api_key=env_api_key(base_url), name=name)


def build_window(
    model: str | None = None,
    threads: int | None = None,
    n_ctx: int | None = None,
    endpoint: Endpoint | None = None,
    settings: LoadResult | None = None,
    persist: bool = False,
    offline_mode: bool = False,
    theme: str | None = None,
) -> tuple[MainWindow, Workspace]:
    """The window over a new workspace, the small model loading into its slot in the background (used by the app
    and the benches; the caller closes the workspace after `window.shutdown()`).

    Command-line values (`model`, `threads`, `n_ctx`, `endpoint`) apply to this session only."""
    loaded = settings or LoadResult(Settings())
    session = {
        path: value
        for path, value in (("local_engine.model_path", model), ("local_engine.threads", threads),
                            ("local_engine.n_ctx", n_ctx), ("offline", True if offline_mode else None),
                            ("theme", theme))
        if value is not None
    }
    current = loaded.settings
    for path, value in session.items():
        current = current.with_value(path, value)
    app = QApplication.instance()
    if isinstance(app, QApplication):
        apply_theme(app, current.theme)  # before the widgets exist: styled widgets keep the palette they got
    workspace = Workspace(history=TrialHistory.open(default_history_path() if persist else None),
                          monitor=ResourceMonitor())
    values = current.local_engine
    workspace.set_slot("small", GgufSpec(str(values.model_path) if values.model_path else None, values.n_ctx,
                                         values.threads))
    window = MainWindow(
        workspace,
        settings=current,
        settings_path=settings_path() if persist else None,
        session_endpoint=endpoint,
        session_values={path: (value, loaded.settings.value(path)) for path, value in session.items()},
    )
    window.settings.apply(current, first=True)  # loads the small slot's model (and says if it is missing)
    window.start_sampling()
    if loaded.notice:
        window.statusBar().showMessage(loaded.notice, 30_000)
    return window, workspace


def run_app(
    model: str | None = None,
    threads: int | None = None,
    n_ctx: int | None = None,
    base_url: str | None = None,
    remote_model: str | None = None,
    theme: str | None = None,
    offline_mode: bool = False,
    demo: DemoOptions | None = None,
) -> int:
    log_file = setup_logging()
    if offline_mode:
        offline.enable()  # before anything else runs
    app = QApplication.instance() or QApplication(sys.argv[:1])
    assert isinstance(app, QApplication)
    app.setApplicationName("LM Scales")
    app.setApplicationDisplayName("LM Scales")
    app.setDesktopFileName("io.github.lmscales.LMScales")  # Wayland matches the window to the menu entry
    app.setWindowIcon(app_icon())
    # Installed before any file is read (settings, history): what goes wrong while the window is built is logged
    # and shown, not a traceback on a terminal the user may not have.
    crashes = CrashReporter()
    crashes.install()
    try:
        loaded = load_settings()
        endpoint = command_line_endpoint(base_url, remote_model) if base_url and remote_model else None
        window, workspace = build_window(model, threads, n_ctx, endpoint, loaded, persist=True,
                                      offline_mode=offline_mode, theme=theme)
    except Exception as error:
        crashes.report_startup_failure(error)
        return 1
    crashes.attach(window)
    log.info("LM Scales started; log file %s", log_file)
    window.show()
    if demo is not None:
        start_demo(window, demo)
    try:
        return app.exec()
    finally:
        window.shutdown()
        workspace.close()
