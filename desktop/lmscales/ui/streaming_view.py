"""A text view that takes a fast stream without choking: pieces are buffered and appended as plain text
at most ~30 times a second, and the Markdown is rendered once, when the answer is complete (without HTML, so
the finished answer says what the streamed one said: see `markdown_text`)."""

from __future__ import annotations

from PySide6.QtCore import QTimer
from PySide6.QtGui import QTextCursor
from PySide6.QtWidgets import QWidget

from lmscales.ui.markdown_text import AnswerBrowser

APPEND_INTERVAL_MS = 33
# Past this size the finished answer stays plain text: rendering Markdown is linear in the document and an
# answer this long is not prose a user reads formatted.
MARKDOWN_MAX_CHARS = 100_000


class StreamingView(AnswerBrowser):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)  # links open nothing, nothing is loaded: the offline promise
        self._pending: list[str] = []
        self._prefix_markdown = ""
        self._current = ""
        self._timer = QTimer(self)
        self._timer.setInterval(APPEND_INTERVAL_MS)
        self._timer.timeout.connect(self.flush)
        self.appends = 0  # how many times text was appended in this answer (for tests and the bench)

    def begin(self, prefix_markdown: str = "") -> None:
        """Start a new answer under `prefix_markdown` (earlier chat turns, the user's question)."""
        self._pending.clear()
        self._current = ""
        self.appends = 0
        self._prefix_markdown = prefix_markdown
        self.setMarkdown(prefix_markdown)
        if prefix_markdown:
            cursor = QTextCursor(self.document())
            cursor.movePosition(QTextCursor.MoveOperation.End)
            cursor.insertBlock()  # the answer starts its own paragraph, not inside the question's
        self._timer.start()

    def add(self, text: str) -> None:
        self._pending.append(text)

    def flush(self) -> None:
        if not self._pending:
            return
        text = "".join(self._pending)
        self._pending.clear()
        self._current += text
        at_bottom = self.verticalScrollBar().value() >= self.verticalScrollBar().maximum() - 4
        cursor = QTextCursor(self.document())
        cursor.movePosition(QTextCursor.MoveOperation.End)
        cursor.insertText(text)
        self.appends += 1
        if at_bottom:
            self.verticalScrollBar().setValue(self.verticalScrollBar().maximum())

    def finish(self, suffix_markdown: str = "") -> str:
        """Stop streaming and render the whole answer as Markdown; returns the answer's text."""
        self.flush()
        self._timer.stop()
        if len(self._current) <= MARKDOWN_MAX_CHARS:
            self.setMarkdown(self._prefix_markdown + self._current + suffix_markdown)
        self.verticalScrollBar().setValue(self.verticalScrollBar().maximum())
        return self._current

    @property
    def answer(self) -> str:
        return self._current + "".join(self._pending)

    @property
    def streaming(self) -> bool:
        return self._timer.isActive()
