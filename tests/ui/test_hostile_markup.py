"""Answers, model names and inputs full of markup-like text are shown as written, everywhere a window shows them.

A large side once answered `[INST] <<SYS>>…` (hundreds of words) and the finished pane and the presenter showed
only `[INST] <`: Qt's Markdown took the text for HTML. Here the fault server (scripted mode) streams answers
holding `[INST] <<SYS>>`, `<div>`, `a < b and c > d`, images (a loopback URL this test watches, and a red PNG
on disk), `<script>`, `<think>`, `**bold**`, Arabic and CJK, and a long one; a child process on a real X server
(Xvfb) runs them in the real window's presenter mode, then reads back the presenter's answer, the main window's
pane, the result card, and the history's detail dialog: each document's plain text, the bold word's weight,
the red pixels of the whole rendered document, and what the labels and tooltips show. The screenshots land in
artifacts/screenshots/hostile-markup-*.png: look at them.

The cheaper checks of `lmscales.ui.markdown_text` run offscreen, in this process.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtGui import (
    Qt,  # QtGui's Qt has mightBeRichText
    QTextDocument,
)

from lmscales.ui.markdown_text import AnswerBrowser, plain_tooltip, set_markdown
from tests.support.fault_server import FaultServer
from tests.support.xvfb import xvfb

ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "artifacts" / "screenshots"
SIZE = (1600, 1000)
MARKER = "ZEBRAFINAL"
BOLD_WORD = "boldword"
MODEL = "fault <b>model</b> <<SYS>>"
INPUT = "<div>Say <b>hi</b></div> to [INST] <<SYS>> if a < b"
TITLE = "Markup <i>test</i> talk"


def hostile_answer(image_url: str, red_png: Path) -> str:
    return (
        "\n\n[INST] <<SYS>>\nI don't see why a model would write this, but it did.\n<</SYS>>\n\n"
        "<div>inside a div</div>\n\n"
        "If a < b and c > d then b > a, and x<y>z stays.\n\n"
        f'<img src="{image_url}"> after the loopback image\n\n'
        f'<img src="{red_png.as_uri()}"> after the local image\n\n'
        f"![a red square]({red_png.as_uri()})\n\n"
        '<script>alert("script body")</script>\n\n'
        "<think>thinking text</think>\n\n"
        f"This is **{BOLD_WORD}** text.\n\n"
        f"{MARKER}"
    )


def hostile_pieces(image_url: str, red_png: Path) -> list[str]:
    """What the finished answer must still say, in words."""
    return ["[INST] <<SYS>>", "I don't see why a model would write this", "<</SYS>>", "<div>inside a div</div>",
            "a < b and c > d then b > a", "x<y>z", f'<img src="{image_url}"> after the loopback image',
            f'<img src="{red_png.as_uri()}"> after the local image', "[image: a red square",
            '<script>alert("script body")</script>', "<think>thinking text</think>", BOLD_WORD, MARKER]


ARABIC = "مرحبا بالعالم، هذا نص عربي <b>عريض</b> و a < b"
CJK = "你好，世界。这是中文 <think>思考</think>；日本語のテキスト；한국어 문장 <div>"


def scripts_answer() -> str:
    lines = [f"Line {number}: a < b and <div>{number}</div> with **{BOLD_WORD}** [INST] <<SYS>>"
             for number in range(1, 401)]
    return "\n\n".join([ARABIC, CJK, *lines, f"{MARKER}2"])


def scripts_pieces() -> list[str]:
    return [ARABIC, CJK, "Line 1: a < b and <div>1</div>", "Line 400: a < b and <div>400</div>",
            f"{MARKER}2"]


def scenario_toml() -> str:
    steps = "".join(
        f'\n[[steps]]\ntitle = {json.dumps(title)}\ntask = "chat"\ninput = {json.dumps(INPUT)}\nsides = ["large"]\n'
        "[steps.params]\nmax_tokens = 64\ntemperature = 0.0\nseed = 1\n"
        for title in ("Hostile <b>markup</b>", "Scripts and length"))
    return f"version = 1\ntitle = {json.dumps(TITLE)}\n{steps}"


# -- in a real window ----------------------------------------------------------------------------------------
@pytest.mark.slow
@pytest.mark.skipif(not shutil.which("Xvfb"), reason="needs Xvfb (Debian: xvfb)")
def test_markup_in_answers_names_and_inputs_is_shown_as_written_in_a_real_window(tmp_path: Path) -> None:
    red_png = tmp_path / "red.png"
    with FaultServer() as server, xvfb(SIZE) as display:
        image_url = f"http://127.0.0.1:{server.server_address[1]}/img/pixel.png"
        server.scripted_replies.extend([hostile_answer(image_url, red_png), scripts_answer()])
        config = {"base_url": server.url("scripted"), "model": MODEL, "scenario": scenario_toml(),
                  "red_png": str(red_png), "out": str(tmp_path / "seen.json"), "shots": str(SHOTS)}
        config_path = tmp_path / "config.json"
        config_path.write_text(json.dumps(config), "utf-8")
        env = {**os.environ, "DISPLAY": display, "QT_QPA_PLATFORM": "xcb", "LMSCALES_CONFIG_DIR": str(tmp_path),
               "LMSCALES_DATA_DIR": str(tmp_path / "data"), "LMSCALES_LOG_DIR": str(tmp_path / "logs"),
               "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
        child = subprocess.run([sys.executable, "-m", "tests.ui.test_hostile_markup", str(config_path)], env=env,
                               cwd=ROOT, capture_output=True, text=True, timeout=300, check=False)
        assert child.returncode == 0, f"the window's child failed:\n{child.stdout[-3000:]}\n{child.stderr[-3000:]}"
        seen = json.loads((tmp_path / "seen.json").read_text("utf-8"))
        image_requests = [request for request in server.requests if request[0] == "img"]
    assert not image_requests, f"an answer's image was fetched: {image_requests}"

    hostile, scripts = seen["runs"]
    for where in ("presenter", "pane", "history"):
        view = hostile[where]
        for piece in hostile_pieces(image_url, red_png):
            assert piece in view["text"], f"{where}: {piece!r} is missing from what is shown:\n{view['text']}"
        assert view["bold_weight"] >= 700, f"{where}: **{BOLD_WORD}** is not bold ({view['bold_weight']})"
        assert view["images"] == 0, f"{where}: the answer still holds {view['images']} image(s)"
        assert view["red_pixels"] == 0, f"{where}: the red PNG on disk was loaded into the answer"
        for piece in scripts_pieces():
            assert piece in scripts[where]["text"], f"{where}: {piece!r} is missing from the long answer"
        assert scripts[where]["bold_weight"] >= 700
        assert scripts[where]["text"].count(f"</div> with {BOLD_WORD} [INST] <<SYS>>") == 400
    # The pane shows the question above the answer (Markdown too): as typed.
    assert INPUT in hostile["pane"]["text"]
    for name, shown in hostile["labels"].items():
        assert MODEL in shown, f"{name} shows {shown!r}, not the model's name as written"
    for name, shown in hostile["tooltips"].items():
        assert INPUT in " ".join(shown.split()), f"the tooltip of {name} shows {shown!r}, not the input as written"
    assert TITLE in hostile["presenter_title"]
    assert "Hostile <b>markup</b>" in hostile["step_titles"]


def shown_text(text: str, text_format: Qt.TextFormat = Qt.TextFormat.AutoText) -> str:
    """What a QLabel or a tooltip with `text` shows: Qt renders it as HTML if told to, or (AutoText, as tooltips
    always are) if its first line looks like HTML."""
    rich = text_format == Qt.TextFormat.RichText or (
        text_format == Qt.TextFormat.AutoText and Qt.mightBeRichText(text))
    if not rich:
        return text
    document = QTextDocument()
    document.setHtml(text)
    return document.toPlainText()


# -- the child: the real window on the X server --------------------------------------------------------------
def _read_view(view: Any) -> dict[str, Any]:
    """A text view's document: its plain text, the bold word's weight, its images, and the red pixels of the
    whole document drawn (what the view shows where it is scrolled to)."""
    import numpy as np
    from PySide6.QtGui import QImage, QPainter, QTextCursor

    document = view.document()
    text = document.toPlainText()
    position = text.find(BOLD_WORD)
    weight = -1
    if position >= 0:
        cursor = QTextCursor(document)
        cursor.setPosition(position + 1)
        weight = int(cursor.charFormat().fontWeight())
    images = 0
    block = document.begin()
    while block.isValid():
        fragments = block.begin()
        while not fragments.atEnd():
            images += fragments.fragment().charFormat().isImageFormat()
            fragments += 1
        block = block.next()
    copy = document.clone()
    copy.setTextWidth(800)
    size = copy.size().toSize()
    picture = QImage(max(1, size.width()), max(1, min(size.height(), 30_000)), QImage.Format.Format_RGB32)
    picture.fill(Qt.GlobalColor.white)
    painter = QPainter(picture)
    copy.drawContents(painter)
    painter.end()
    pixels = np.frombuffer(picture.constBits(), dtype=np.uint32, count=picture.width() * picture.height())
    red = int(np.count_nonzero(pixels == 0xFFFF0000))
    return {"text": text, "bold_weight": weight, "images": images, "red_pixels": red}


def _drive(config: dict[str, Any]) -> None:
    from PySide6.QtCore import QEventLoop, QTimer
    from PySide6.QtGui import QColor, QImage
    from PySide6.QtWidgets import QApplication, QLabel

    app = QApplication.instance() or QApplication([])
    from lmscales.core import scenario
    from lmscales.core.endpoints import Endpoint
    from lmscales.core.workspace import Workspace
    from lmscales.ui.history_view import INPUT_COLUMN
    from lmscales.ui.main_window import MainWindow

    red = QImage(48, 48, QImage.Format.Format_RGB32)
    red.fill(QColor(255, 0, 0))
    red.save(config["red_png"])
    shots = Path(config["shots"])
    shots.mkdir(parents=True, exist_ok=True)

    def settle(milliseconds: int = 300) -> None:
        loop = QEventLoop()
        QTimer.singleShot(milliseconds, loop.quit)
        loop.exec()

    def shoot(name: str) -> None:
        screen = QApplication.primaryScreen()
        assert screen is not None
        screen.grabWindow(0).save(str(shots / f"hostile-markup-{name}.png"))

    def labels_showing(widget: Any, needle: str) -> list[QLabel]:
        return [label for label in widget.findChildren(QLabel) if needle in label.text()]

    workspace = Workspace()  # no small model: these runs are the large side's only
    window = MainWindow(workspace)
    window.resize(SIZE[0], SIZE[1] - 40)
    window.show()
    window.set_endpoint(Endpoint(config["base_url"], config["model"]))
    presenter = window.presenter
    presenter.load_scenario(scenario.parse(config["scenario"], "hostile.toml"))
    runs = []
    for index, name in enumerate(("answer", "scripts")):
        presenter.enter()
        settle()
        ended = QEventLoop()
        window.bridge.trialEnded.connect(ended.quit)
        QTimer.singleShot(120_000, ended.quit)
        assert presenter.run_step(index), "the step did not start"
        ended.exec()
        window.bridge.trialEnded.disconnect(ended.quit)
        assert window.history_store.list(), "no comparison was kept"
        settle()
        column = presenter.window.columns["large"]
        seen: dict[str, Any] = {"presenter": _read_view(column.view)}
        seen["presenter_title"] = shown_text(presenter.window.title.text(), presenter.window.title.textFormat())
        seen["step_titles"] = " ".join(shown_text(label.text(), label.textFormat())
                                       for label in presenter.window.strip.labels)
        labels = {"presenter column title": shown_text(column.title.text(), column.title.textFormat())}
        shoot(f"presenter-{name}")
        presenter.leave()
        settle()
        pane = window.panes["large"]
        seen["pane"] = _read_view(pane.view)
        labels["model card"] = shown_text(pane.model_card.text(), pane.model_card.textFormat())
        for number, label in enumerate(labels_showing(window.card, "fault <b>model</b>")):
            labels[f"result card label {number}"] = shown_text(label.text(), label.textFormat())
        tooltips = {"result card title": shown_text(window.card.title.toolTip())}
        shoot(f"window-{name}")
        pane.view.verticalScrollBar().setValue(0)  # the start too (the Arabic and the CJK of the long answer)
        settle(100)
        shoot(f"window-{name}-start")
        rows = window.history.row_count()
        model = window.history.model
        tooltips["history input"] = shown_text(str(model.data(model.index(rows - 1, INPUT_COLUMN),
                                                              Qt.ItemDataRole.ToolTipRole)))
        dialog = window.history.open_row(rows - 1)
        assert dialog is not None
        dialog.move(0, 0)
        settle()
        seen["history"] = _read_view(dialog.answers["large"])
        for number, label in enumerate(labels_showing(dialog.card, "fault <b>model</b>")):
            labels[f"history card label {number}"] = shown_text(label.text(), label.textFormat())
        shoot(f"history-{name}")
        dialog.close()
        seen["labels"], seen["tooltips"] = labels, tooltips
        runs.append(seen)
    Path(config["out"]).write_text(json.dumps({"runs": runs}), "utf-8")
    window.shutdown()
    workspace.close()
    app.quit()


if __name__ == "__main__":
    _drive(json.loads(Path(sys.argv[1]).read_text("utf-8")))


# -- the helper, offscreen -----------------------------------------------------------------------------------
def test_markdown_keeps_every_tag_as_text_and_bold_as_bold(qtbot) -> None:  # type: ignore[no-untyped-def]
    document = QTextDocument()
    set_markdown(document, "[INST] <<SYS>> <div>x</div> a < b and c > d <script>s()</script> **b** &amp; `<t>`")
    assert document.toPlainText() == "[INST] <<SYS>> <div>x</div> a < b and c > d <script>s()</script> b & <t>"


def test_an_image_in_an_answer_is_named_in_words_and_never_read(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from PySide6.QtGui import QColor, QImage

    red = QImage(16, 16, QImage.Format.Format_RGB32)
    red.fill(QColor(255, 0, 0))
    red.save(str(tmp_path / "red.png"))
    view = AnswerBrowser()
    qtbot.addWidget(view)
    view.setMarkdown(f"before ![a square]({(tmp_path / 'red.png').as_uri()}) after")
    view.show()
    qtbot.waitExposed(view)
    assert view.toPlainText() == f"before [image: a square · {(tmp_path / 'red.png').as_uri()}] after"
    picture = view.viewport().grab().toImage()
    assert not any(picture.pixelColor(x, y) == QColor(255, 0, 0)
                   for x in range(0, picture.width(), 2) for y in range(0, picture.height(), 2))


def test_a_tooltip_that_looks_like_html_shows_as_written() -> None:
    assert plain_tooltip("no tags here") == "no tags here"
    text = "<b>Say</b> a < b\nsecond line"
    assert shown_text(plain_tooltip(text)) == text
    assert shown_text(text) != text  # what a tooltip would have shown without it
