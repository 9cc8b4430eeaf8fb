"""A GGUF without a chat template in the window (issue 26): the model card and the pane say it is prompted as
ChatML, and the answer of a model that does not know ChatML ends where it writes the end marker. The real
window (offscreen) on the real engine, with a copy of the bundled model whose template key and ChatML
markers are renamed (`tests/support/gguf_copies.py`)."""

from __future__ import annotations

from pathlib import Path

import pytest

from lmscales.core.engines.local_worker import CHATML_STOPS, NO_CHAT_TEMPLATE_NOTE
from lmscales.ui.main_window import MainWindow
from tests.conftest import wait_idle
from tests.support.gguf_copies import copy_without_chat_template

pytestmark = pytest.mark.slow


def test_the_card_and_the_pane_say_a_model_has_no_chat_template(  # type: ignore[no-untyped-def]
    qtbot, window: MainWindow, bundled_model: Path, tmp_path: Path
) -> None:
    assert "No chat template" not in window.panes["small"].model_card.text()  # the bundled model has one
    copy = str(copy_without_chat_template(bundled_model, tmp_path / "base-like.gguf", knows_chatml=False))
    for side in ("small", "large"):  # the Model… button, and File › Open GGUF model… for the large side
        assert window.load_model(copy, side=side)

        def loaded(side: str = side) -> bool:
            engine = window.workspace.local_engine(side)
            return not window.loaders[side].busy and engine is not None and engine.model is not None \
                and engine.model.info.path == copy

        qtbot.waitUntil(loaded, timeout=60_000)
        assert NO_CHAT_TEMPLATE_NOTE in window.panes[side].model_card.text()

    window.generation.max_tokens.setValue(60)
    qtbot.keyClicks(window.tasks.chat_input, "What is the capital of France?")
    window.send(("small",))
    wait_idle(qtbot, window)
    pane = window.panes["small"]
    answer = pane.view.toPlainText()
    assert "Paris" in answer
    assert not any(marker in answer for marker in CHATML_STOPS), answer
    assert pane.status.text().startswith("Done.")
    assert NO_CHAT_TEMPLATE_NOTE in pane.status.text()
    trial = window.history_store.list()[-1]
    side = trial.side("small")
    assert side is not None and side.without_chat_template

    with qtbot.waitSignal(window.loaders["small"].loaded, timeout=60_000):  # a model with a template again
        window.load_model(str(bundled_model))
    qtbot.waitUntil(lambda: not window.loaders["small"].busy)
    assert "No chat template" not in window.panes["small"].model_card.text()
