"""Help → About: what this copy of LM Scales is made of (its version, llama.cpp's, Qt's), the bundled
model's licence, and the notice Qt's licence (LGPL-3.0) asks every app that ships Qt to show.

The facts come from `about_facts()`, plain strings and no Qt widgets, so a bug report can copy them as text.
llama.cpp's version is read from the library itself, which this loads into the GUI process on first use
(a few tenths of a second, once); no model is loaded here, so a crash in a model still stays in the engine
process.
"""

from __future__ import annotations

import ctypes
import functools
import html
import platform
import sys
from importlib import resources
from pathlib import Path

import PySide6
from PySide6.QtCore import QUrl, qVersion
from PySide6.QtGui import QDesktopServices, QGuiApplication, QPixmap
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from lmscales import __version__
from lmscales.core import offline
from lmscales.core.bundled_model import ModelFileError, load_manifest

QT_SOURCE_URL = "https://download.qt.io/official_releases/qt/"
PYSIDE_SOURCE_URL = "https://download.qt.io/official_releases/QtForPython/"
LGPL_URL = "https://www.gnu.org/licenses/lgpl-3.0.html"


@functools.lru_cache(maxsize=1)
def llama_cpp_versions() -> str:
    """"llama-cpp-python 0.3.36 (ggml 0.25.3, commit 0c1e570)", or why it is unknown."""
    try:
        import llama_cpp
        from llama_cpp import llama_cpp as bindings
    except Exception as error:  # a missing or unloadable library must not break the About box
        return f"unavailable ({error})"
    details = []
    for label, symbol in (("ggml", "ggml_version"), ("commit", "ggml_commit")):
        try:
            function = getattr(bindings._lib, symbol)
        except AttributeError:  # older builds do not export these
            continue
        function.restype, function.argtypes = ctypes.c_char_p, []
        value = function()
        if value:
            details.append(f"{label} {value.decode(errors='replace')}")
    suffix = f" ({', '.join(details)})" if details else ""
    return f"llama-cpp-python {llama_cpp.__version__}{suffix}"


def _licences_folder() -> Path | None:
    """The bundle's folder of third-party licence texts (packaging/lmscales.spec puts it there)."""
    bundle = getattr(sys, "_MEIPASS", None)
    folder = Path(bundle) / "licenses" if bundle else None
    return folder if folder is not None and folder.is_dir() else None


def about_facts() -> dict[str, str]:
    """Everything the dialog states, as label → text."""
    facts = {
        "LM Scales": __version__,
        "llama.cpp": llama_cpp_versions(),
        "Qt": f"{qVersion()} (PySide6 {PySide6.__version__})",
        "Python": f"{platform.python_version()} on {platform.system()} {platform.machine()}",
    }
    try:
        model = load_manifest()
    except ModelFileError as error:
        facts["Bundled model"] = str(error)
    else:
        facts["Bundled model"] = f"{model.name} ({model.quantization}), licence {model.license}"
        facts["Model licence file"] = str(model.directory / model.license_file)
    facts["Frozen app"] = "yes" if getattr(sys, "frozen", False) else "no (run from source)"
    return facts


def _link(url: str, text: str | None = None) -> str:
    """A link; offline, a web address is shown as text to copy, not as a link (a click would open a
    browser, which offline mode promises not to do). Files on this computer stay links."""
    if offline.enabled() and not url.startswith("file:"):
        return f"{html.escape(text)} ({html.escape(url)})" if text and text != url else html.escape(url)
    return f'<a href="{html.escape(url)}">{html.escape(text or url)}</a>'


def opens_offline(url: QUrl) -> bool:
    """Whether offline mode lets a click open `url`: only files on this computer."""
    return url.isLocalFile()


def about_html(facts: dict[str, str]) -> str:
    rows = "".join(
        f"<tr><td><b>{html.escape(label)}</b>&nbsp;&nbsp;</td><td>{html.escape(value)}</td></tr>"
        for label, value in facts.items() if label != "Model licence file"
    )
    licence_file = facts.get("Model licence file")
    model_licence = (
        f"The bundled model is distributed under the Apache License 2.0 (Apache-2.0); its licence text: "
        f"{_link(QUrl.fromLocalFile(licence_file).toString(), Path(licence_file).name)}."
        if licence_file else "The bundled model is distributed under the Apache License 2.0 (Apache-2.0)."
    )
    licences = _licences_folder()
    others = ""
    if licences is not None:
        folder = _link(QUrl.fromLocalFile(str(licences)).toString(), "this folder")
        others = f" The licence texts of every bundled component are in {folder}."
    return (
        "<p>A small language model on this CPU beside a large one behind an API.<br>"
        "LM Scales is free software under the Apache License 2.0.</p>"
        f"<table>{rows}</table>"
        f"<h4>Licences</h4><p>{model_licence}</p>"
        "<p>LM Scales uses the Qt toolkit (© The Qt Company Ltd. and other contributors) through Qt for Python "
        "(PySide6), both under the GNU Lesser General Public License version 3 (LGPL-3.0), "
        f"{_link(LGPL_URL)}. Qt is linked dynamically: its libraries sit as separate files in the installation "
        "folder, and you may replace them with your own build of the same Qt version. The source code of Qt "
        f"is available from {_link(QT_SOURCE_URL)} and that of PySide6 from {_link(PYSIDE_SOURCE_URL)}.</p>"
        "<p>llama.cpp and llama-cpp-python are under the MIT licence; pyqtgraph under the MIT licence; NumPy "
        f"under the BSD licence.{others}</p>"
    )


class AboutDialog(QDialog):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("About LM Scales")
        self.facts = about_facts()
        icon = QLabel()
        pixmap = QPixmap()
        pixmap.loadFromData(resources.files("lmscales.resources").joinpath("icons/lmscales-128.png").read_bytes())
        icon.setPixmap(pixmap.scaledToWidth(96) if not pixmap.isNull() else pixmap)
        title = QLabel(f"<h2>LM Scales {html.escape(__version__)}</h2>")
        header = QHBoxLayout()
        header.addWidget(icon)
        header.addWidget(title, 1)
        self.text = QTextBrowser()
        self.text.setOpenLinks(False)  # clicks come to _on_anchor_clicked, which checks offline mode
        self.text.anchorClicked.connect(self._on_anchor_clicked)
        self.text.setHtml(about_html(self.facts))
        self.offline_note = QLabel("Offline mode: links to the web are off; addresses are shown to copy.")
        self.offline_note.setVisible(offline.enabled())
        self.text.setMinimumSize(520, 360)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.copy_button = QPushButton("Copy details")
        self.copy_button.setToolTip("Copy the versions above, for a bug report")
        buttons.addButton(self.copy_button, QDialogButtonBox.ButtonRole.ActionRole)
        layout = QVBoxLayout(self)
        layout.addLayout(header)
        layout.addWidget(self.text, 1)
        layout.addWidget(self.offline_note)
        layout.addWidget(buttons)
        buttons.rejected.connect(self.reject)
        self.copy_button.clicked.connect(self._on_copy_clicked)

    def _on_anchor_clicked(self, url: QUrl) -> None:
        if offline.enabled() and not opens_offline(url):
            self.offline_note.setVisible(True)  # nothing opens beyond this computer
            return
        QDesktopServices.openUrl(url)

    def details_text(self) -> str:
        return "\n".join(f"{label}: {value}" for label, value in self.facts.items())

    def _on_copy_clicked(self) -> None:
        clipboard = QGuiApplication.clipboard()
        if clipboard is not None:
            clipboard.setText(self.details_text())
        self.copy_button.setText("Copied")


def show_about(parent: QWidget | None = None) -> None:
    """Show the About dialog (modal to `parent`) and return when it is closed."""
    AboutDialog(parent).exec()
