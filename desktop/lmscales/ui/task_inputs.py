"""The task picker and each task's own input: Chat, Summarize (paste, open or drop a file), Translate.

Each task has a "Try an example" button that fills its input with the bundled sample for that task
(`resources/samples/`), so a first comparison is one click and Ctrl+Enter away.
"""

from __future__ import annotations

from importlib import resources

from PySide6.QtCore import QMimeData, Signal
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QTabWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from lmscales.core import tasks
from lmscales.core.metrics import estimate_tokens
from lmscales.core.session import build_messages
from lmscales.core.trial import TaskInput
from lmscales.core.user_text_file import read_text_file
from lmscales.ui.shortcuts import native, with_shortcut


class TextInput(QPlainTextEdit):
    """A plain text box that also accepts dropped .txt/.md files."""

    fileDropped = Signal(str)

    def __init__(self, placeholder: str, accept_files: bool = False, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setPlaceholderText(placeholder)
        self.setTabChangesFocus(True)
        self._accept_files = accept_files

    def _file_of(self, mime: QMimeData) -> str | None:
        if not self._accept_files or not mime.hasUrls():
            return None
        urls = [u for u in mime.urls() if u.isLocalFile()]
        return urls[0].toLocalFile() if urls else None

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # Qt override
        if self._file_of(event.mimeData()):
            event.acceptProposedAction()
        else:
            super().dragEnterEvent(event)

    def dropEvent(self, event: QDropEvent) -> None:  # Qt override
        path = self._file_of(event.mimeData())
        if path:
            event.acceptProposedAction()
            self.fileDropped.emit(path)
        else:
            super().dropEvent(event)


def example_text(task: tasks.TaskName) -> str:
    """The bundled example input of a task (loaded through importlib.resources: checkout, wheel or bundle)."""
    sample = resources.files("lmscales.resources").joinpath("samples").joinpath(f"{task}_en.txt")
    return sample.read_text(encoding="utf-8").strip()


def _example_button(task: tasks.TaskName) -> QPushButton:
    button = QPushButton("Try an example")
    button.setObjectName(f"example_{task}")
    button.setToolTip({"chat": "Fill in an example question", "summarize": "Fill in an example news text to "
                       "summarize", "translate": "Fill in an example sentence to translate"}[task])
    return button


def _language_combo(with_auto: bool) -> QComboBox:
    combo = QComboBox()
    if with_auto:
        combo.addItem("Detect language", tasks.AUTO)
    for code, name in sorted(tasks.LANGUAGES.items(), key=lambda item: item[1]):
        combo.addItem(name, code)
    return combo


class TaskPanel(QTabWidget):
    """Three tabs; `current_task`, `current_text` and `messages()` say what to send."""

    changed = Signal()
    newChatRequested = Signal()
    problem = Signal(str)  # a message for the user (unreadable file, ...)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        # Chat
        self.chat_input = TextInput(f"Type a message. {native('Ctrl+Return')} sends it to both models.")
        self.new_chat_button = QPushButton("New chat")
        self.new_chat_button.setToolTip(with_shortcut("Forget both sides' conversations", "Ctrl+N"))
        chat = QWidget()
        chat_layout = QVBoxLayout(chat)
        chat_layout.addWidget(self.chat_input)
        chat_row = QHBoxLayout()
        chat_row.addWidget(QLabel("Each side keeps its own conversation history."))
        chat_row.addStretch(1)
        self.example_buttons = {task: _example_button(task) for task in tasks.TASKS}
        chat_row.addWidget(self.example_buttons["chat"])
        chat_row.addWidget(self.new_chat_button)
        chat_layout.addLayout(chat_row)
        # Summarize
        self.summary_input = TextInput("Paste text to summarize, or open or drop a .txt / .md file.", accept_files=True)
        self.open_file_button = QPushButton("Open file…")
        self.open_file_button.setToolTip(with_shortcut("Open a .txt or .md file", "Ctrl+O"))
        self.summary_length = QComboBox()
        lengths = (("sentence", "One sentence"), ("paragraph", "Short paragraph"), ("bullets", "Bullet points"))
        for key, label in lengths:
            self.summary_length.addItem(label, key)
        self.summary_length.setCurrentIndex(1)
        self.summary_size = QLabel("")
        summarize = QWidget()
        summarize_layout = QVBoxLayout(summarize)
        summarize_layout.addWidget(self.summary_input)
        summarize_row = QHBoxLayout()
        summarize_row.addWidget(self.open_file_button)
        summarize_row.addWidget(QLabel("Length"))
        summarize_row.addWidget(self.summary_length)
        summarize_row.addStretch(1)
        summarize_row.addWidget(self.summary_size)
        summarize_row.addWidget(self.example_buttons["summarize"])
        summarize_layout.addLayout(summarize_row)
        # Translate
        self.translate_input = TextInput("Type or paste text to translate.")
        self.source_language = _language_combo(with_auto=True)
        self.target_language = _language_combo(with_auto=False)
        self.target_language.setCurrentIndex(self.target_language.findData("fr"))
        self.swap_button = QToolButton()
        self.swap_button.setText("⇄")
        self.swap_button.setToolTip("Swap source and target languages")
        translate = QWidget()
        translate_layout = QVBoxLayout(translate)
        translate_layout.addWidget(self.translate_input)
        translate_row = QHBoxLayout()
        translate_row.addWidget(QLabel("From"))
        translate_row.addWidget(self.source_language)
        translate_row.addWidget(self.swap_button)
        translate_row.addWidget(QLabel("into"))
        translate_row.addWidget(self.target_language)
        translate_row.addStretch(1)
        translate_row.addWidget(self.example_buttons["translate"])
        translate_layout.addLayout(translate_row)

        self.addTab(chat, "Chat")
        self.addTab(summarize, "Summarize")
        self.addTab(translate, "Translate")
        self.setTabToolTip(0, with_shortcut("Multi-turn chat", "Ctrl+1"))
        self.setTabToolTip(1, with_shortcut("Summarize a text, of any length", "Ctrl+2"))
        self.setTabToolTip(2, with_shortcut(f"Translate between {len(tasks.LANGUAGES)} languages", "Ctrl+3"))
        self._inputs = {"chat": self.chat_input, "summarize": self.summary_input, "translate": self.translate_input}

        self.currentChanged.connect(self._on_tab_changed)
        for widget in self._inputs.values():
            widget.textChanged.connect(self.changed)
        self.summary_input.textChanged.connect(self._update_size)
        self.summary_input.fileDropped.connect(self.load_file)
        self.open_file_button.clicked.connect(self.open_file)
        self.swap_button.clicked.connect(self.swap_languages)
        self.new_chat_button.clicked.connect(self.newChatRequested)
        for task, button in self.example_buttons.items():
            button.clicked.connect(lambda _=False, t=task: self.load_example(t))
        self._update_size()

    def _on_tab_changed(self, _index: int) -> None:
        self.current_input.setFocus()  # switching tasks (Ctrl+1/2/3) puts the cursor where typing goes
        self.changed.emit()

    @property
    def current_task(self) -> tasks.TaskName:
        return tasks.TASKS[self.currentIndex()]

    def set_task(self, task: tasks.TaskName) -> None:
        self.setCurrentIndex(tasks.TASKS.index(task))

    @property
    def current_input(self) -> TextInput:
        return self._inputs[self.current_task]

    @property
    def current_text(self) -> str:
        return self.current_input.toPlainText()

    def has_text(self) -> bool:
        return bool(self.current_text.strip())

    def task_input(self, system_prompt: str | None) -> TaskInput:
        """What the panel holds now, as the session takes it; `TaskInputError` (from the session's own
        `build_messages`, which makes each side's messages) for input the task cannot use."""
        task = self.current_task
        task_input = TaskInput(
            task=task,
            text=self.current_text.strip(),
            system_prompt=system_prompt,
            target_lang=self.target_language.currentData() if task == "translate" else None,
            source_lang=self.source_language.currentData() if task == "translate" else None,
            summary_length=self.summary_length.currentData() if task == "summarize" else None,
        )
        build_messages(task_input)  # checked here too, so the message comes before anything starts
        return task_input

    def load_example(self, task: tasks.TaskName | None = None) -> None:
        """Fill a task's input (the current one by default) with its bundled example, and show that task."""
        chosen = task or self.current_task
        self.set_task(chosen)
        box = self._inputs[chosen]
        box.setPlainText(example_text(chosen))
        box.setFocus()

    def _update_size(self) -> None:
        text = self.summary_input.toPlainText()
        self.summary_size.setText(f"{len(text):,} characters · ~{estimate_tokens(text):,} tokens" if text else "")

    def open_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open a text to summarize", "",
                                              "Text files (*.txt *.md *.markdown);;All files (*)")
        if path:
            self.load_file(path)

    def load_file(self, path: str) -> None:
        try:
            text = read_text_file(path)
        except tasks.TaskInputError as error:
            self.problem.emit(str(error))
            return
        self.set_task("summarize")
        self.summary_input.setPlainText(text)

    def swap_languages(self) -> None:
        source = self.source_language.currentData()
        target = self.target_language.currentData()
        if source == tasks.AUTO:
            self.problem.emit("Pick a source language before swapping (it is set to detect).")
            return
        self.source_language.setCurrentIndex(self.source_language.findData(target))
        self.target_language.setCurrentIndex(self.target_language.findData(source))
