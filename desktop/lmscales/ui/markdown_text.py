"""Text that a model, a user or a file wrote, shown in Qt's widgets as what it says.

Qt's Markdown renders raw HTML unless told not to, so an answer holding `[INST] <<SYS>>`, `<div>`, `<think>` or
`a < b and c > d` lost words or was cut short once it was rendered; a QLabel or a tooltip takes any text whose
first line holds a tag for HTML; and a QTextBrowser reads whatever local file an image in the text names (a
model can write `![x](file:///…)`, or `/dev/zero`). Every such text goes through here: Markdown without HTML
(`**bold**` stays bold), images shown as words and never loaded, links that open nothing, labels and tooltips
as plain text.
"""

from __future__ import annotations

from html import escape
from typing import Any

from PySide6.QtGui import (
    Qt,  # QtGui's Qt: QtCore's and the rich-text guess, mightBeRichText
    QTextCharFormat,
    QTextCursor,
    QTextDocument,
    QTextDocumentFragment,
    QTextFormat,
)
from PySide6.QtWidgets import QLabel, QTextBrowser, QWidget

# GitHub's dialect (Qt's default: tables, strikethrough, task lists) with every HTML tag kept as text.
MARKDOWN_FEATURES = QTextDocument.MarkdownFeature(
    QTextDocument.MarkdownFeature.MarkdownDialectGitHub.value | QTextDocument.MarkdownFeature.MarkdownNoHTML.value
)


def set_markdown(document: QTextDocument, text: str) -> None:
    """Render `text` as Markdown into `document`, HTML shown as written and images as words.

    The Markdown is parsed into a document of its own, with no layout: laid out, an image is loaded at once,
    and where the document's `loadResource` gives nothing Qt's image handler opens the named file itself. Only
    the text, its images turned into words, is then copied into `document`."""
    if "![" not in text:  # no image can be in it (Markdown has no other syntax for one): straight in, as fast
        document.setMarkdown(text, MARKDOWN_FEATURES)
        return
    source = AnswerDocument()
    source.setDefaultFont(document.defaultFont())  # Qt sizes the paragraphs' margins from it
    source.setMarkdown(text, MARKDOWN_FEATURES)
    _images_as_words(source)
    document.clear()
    if not source.isEmpty():
        QTextCursor(document).insertFragment(QTextDocumentFragment(source))


def _images_as_words(document: QTextDocument) -> None:
    """Replace each Markdown image by "[image: alt · url]": the reader sees what the model pointed at, and
    nothing is left for a layout to load. (Qt's importer drops an image without alt text altogether.)"""
    images: list[tuple[int, str]] = []
    block = document.begin()
    while block.isValid():
        fragments = block.begin()
        while not fragments.atEnd():
            fragment = fragments.fragment()
            char_format = fragment.charFormat()
            if fragment.isValid() and char_format.isImageFormat():
                image = char_format.toImageFormat()
                alt = str(image.property(QTextFormat.Property.ImageAltText) or "").strip()
                words = f"[image: {alt} · {image.name()}]" if alt else f"[image: {image.name()}]"
                # A fragment of images holds one object character per image.
                images.extend((fragment.position() + offset, words) for offset in range(fragment.length()))
            fragments += 1
        block = block.next()
    cursor = QTextCursor(document)
    for position, words in reversed(images):  # from the end, so the earlier positions stay valid
        cursor.setPosition(position)
        cursor.setPosition(position + 1, QTextCursor.MoveMode.KeepAnchor)
        cursor.insertText(words, QTextCharFormat(cursor.blockCharFormat()))


class AnswerDocument(QTextDocument):
    """A document that loads no resource: QTextDocument itself reads any local file an image names when its
    view does not (so the view's `loadResource` alone is not enough)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setUndoRedoEnabled(False)  # read-only text: an undo stack would only keep every streamed piece

    def loadResource(self, kind: int, name: Any) -> Any:  # Qt override
        return None


class AnswerBrowser(QTextBrowser):
    """A read-only view of a model's answer (or any text from outside): Markdown without HTML, images as words,
    links that open nothing (the offline promise), and no resource ever read or fetched."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setDocument(AnswerDocument(self))
        self.setOpenLinks(False)  # a click on a link in an answer neither navigates this view nor opens anything
        self.setOpenExternalLinks(False)
        self.setReadOnly(True)

    def setMarkdown(self, markdown: str) -> None:  # Qt override: every caller gets the safe rendering
        set_markdown(self.document(), markdown)

    def loadResource(self, kind: int, name: Any) -> Any:  # Qt override
        return None  # QTextBrowser would read local files (and block on /dev/zero); an answer loads nothing


def plain_label(text: str = "", parent: QWidget | None = None) -> QLabel:
    """A QLabel that shows `text` as written (by default a label renders it as HTML if it looks like some)."""
    label = QLabel(text, parent)
    label.setTextFormat(Qt.TextFormat.PlainText)
    return label


def plain_tooltip(text: str) -> str:
    """`text` for setToolTip, shown as written: a tooltip takes text that looks like HTML for HTML, so such
    text is escaped (and its line breaks kept)."""
    if not Qt.mightBeRichText(text):
        return text
    return f"<p style='white-space:pre-wrap'>{escape(text, quote=False)}</p>"
