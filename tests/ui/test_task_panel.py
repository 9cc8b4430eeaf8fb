"""The task panel hands the session a `TaskInput` and checks it with the session's own `build_messages`: what
the panel accepts and refuses is exactly what a run would, in core's words."""

from __future__ import annotations

import re

import pytest

from lmscales.core import tasks
from lmscales.core.trial import TaskInput
from lmscales.ui.task_inputs import TaskPanel


@pytest.fixture
def panel(qtbot) -> TaskPanel:  # type: ignore[no-untyped-def]
    made = TaskPanel()
    qtbot.addWidget(made)
    return made


def test_a_translation_is_the_text_and_the_chosen_languages(panel: TaskPanel) -> None:
    panel.set_task("translate")
    panel.translate_input.setPlainText("  Good morning.\n")
    panel.source_language.setCurrentIndex(panel.source_language.findData("en"))
    panel.target_language.setCurrentIndex(panel.target_language.findData("de"))
    assert panel.task_input("Be brief.") == TaskInput("translate", "Good morning.", "Be brief.", target_lang="de",
                                                      source_lang="en")


def test_a_summary_carries_its_length_and_no_languages(panel: TaskPanel) -> None:
    panel.set_task("summarize")
    panel.summary_input.setPlainText("A short report about the harbour.")
    panel.summary_length.setCurrentIndex(panel.summary_length.findData("sentence"))
    assert panel.task_input(None) == TaskInput("summarize", "A short report about the harbour.",
                                               summary_length="sentence")


def test_what_a_run_would_refuse_is_refused_here_in_the_same_words(panel: TaskPanel) -> None:
    panel.set_task("summarize")
    panel.summary_input.setPlainText("x" * (tasks.MAX_SUMMARY_CHARS + 1))
    limit = f"LM Scales summarizes up to {tasks.MAX_SUMMARY_CHARS:,}"
    with pytest.raises(tasks.TaskInputError, match=re.escape(limit)):
        panel.task_input(None)
    panel.set_task("chat")
    panel.chat_input.setPlainText(" \n ")
    with pytest.raises(tasks.TaskInputError, match=re.escape("The message is empty: type or paste some text first.")):
        panel.task_input(None)
