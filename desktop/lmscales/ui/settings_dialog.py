"""Settings (Ctrl+,): one form per section, built from the typed schema in `lmscales.core.settings`, so a
new setting shows up here with its description as the tooltip. The large side's endpoint and API key have
their own dialog; the key never appears in this one."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import QSize, Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from lmscales.core import settings as schema
from lmscales.core.pricing import STALE_AFTER_DAYS, PriceTable
from lmscales.core.settings import PriceOverride, SettingInfo, Settings, SettingValueError
from lmscales.core.thread_counts import ThreadTable

SECTION_TITLES = {
    "": "General",
    "generation": "Generation",
    "system_prompts": "System prompts",
    "local_engine": "Small model",
    "sampler": "Graphs",
    "endpoint": "Large model",
    "energy": "Energy",
    "decision": "Decision",
}
SKIPPED = {"price_overrides", "endpoint.configured", "endpoint.refused_parameters"}
AUTO = -1  # spin box value shown as "auto" for optional numbers


# Settings whose name alone reads badly as a label; every other label is made from the field's name.
LABELS = {
    "rate_hz": "Sample rate (Hz)",
    "n_ctx": "Context size (tokens)",
    "top_p": "Top-p",
    "model_path": "Model file (GGUF)",
    "watts_per_core": "Watts per core",
    "electricity_price": "Electricity price (USD per kWh)",
    "window_seconds": "Graph window (seconds)",
    "threads_preference": "Threads chosen for",
    "never_remote": "Never send to a remote side",
    "measure_threads": "Measure threads when a model is first loaded",
    "adapt_threads": "Fewer threads while other programs keep cores busy",
    "reuse_prompt_cache": "Keep a chat's computed prompt for its next turn",
}
# Words written as people write them, wherever they appear in a field's name.
ACRONYMS = {"url": "URL", "api": "API", "cpu": "CPU", "gguf": "GGUF", "hz": "Hz", "id": "ID", "http": "HTTP",
            "llm": "LLM", "png": "PNG", "csv": "CSV", "json": "JSON", "rss": "RSS", "ttft": "TTFT"}


def _label(path: str) -> str:
    """A human label for a setting's dotted path: "endpoint.base_url" → "Base URL", "api_key" → "API key"."""
    name = path.rsplit(".", 1)[-1]
    if name in LABELS:
        return LABELS[name]
    words = [ACRONYMS.get(word, word) for word in name.split("_") if word]
    if not words:
        return name
    first = words[0]
    words[0] = first if first in ACRONYMS.values() else first.capitalize()
    return " ".join(words)


class _Field:
    """One editor widget for one setting."""

    def __init__(self, info: SettingInfo, value: Any) -> None:
        self.info = info
        kind = info.type
        self.widget: QWidget
        if info.choices:
            combo = QComboBox()
            for choice in info.choices:
                combo.addItem(str(choice), choice)
            combo.setCurrentIndex(max(0, combo.findData(value)))
            self.widget = combo
        elif kind == "bool":
            box = QCheckBox()
            box.setChecked(bool(value))
            self.widget = box
        elif kind.startswith("int"):
            spin = QSpinBox()
            low = int(info.minimum if info.minimum is not None else -(2**31))
            high = int(info.maximum if info.maximum is not None else 2**31 - 1)
            if info.optional:
                spin.setRange(AUTO if low > AUTO else low - 1, high)
                spin.setSpecialValueText("auto" if "threads" in info.path else "none (random)")
            else:
                spin.setRange(low, high)
            spin.setValue(AUTO if value is None and info.optional else int(value))
            self.widget = spin
        elif kind.startswith("float"):
            dspin = QDoubleSpinBox()
            dspin.setDecimals(2)
            dspin.setRange(info.minimum if info.minimum is not None else -1e9,
                           info.maximum if info.maximum is not None else 1e9)
            dspin.setValue(float(value))
            self.widget = dspin
        elif info.path.startswith("system_prompts."):
            text = QPlainTextEdit(str(value))
            text.setMaximumHeight(80)
            self.widget = text
        elif "Path" in kind:
            line = QLineEdit("" if value is None else str(value))
            line.setPlaceholderText("the bundled SmolLM2-135M-Instruct")
            browse = QPushButton("Browse…")
            browse.clicked.connect(lambda: self._browse(line))
            row = QWidget()
            layout = QHBoxLayout(row)
            layout.setContentsMargins(0, 0, 0, 0)
            layout.addWidget(line, 1)
            layout.addWidget(browse)
            self._line = line
            self.widget = row
        else:
            self.widget = QLineEdit(str(value))
        self.widget.setToolTip(info.description)

    @staticmethod
    def _browse(line: QLineEdit) -> None:
        path, _ = QFileDialog.getOpenFileName(line, "Pick a GGUF model", "", "GGUF models (*.gguf);;All files (*)")
        if path:
            line.setText(path)

    def value(self) -> Any:
        widget = self.widget
        if isinstance(widget, QComboBox):
            return widget.currentData()
        if isinstance(widget, QCheckBox):
            return widget.isChecked()
        if isinstance(widget, QSpinBox):
            return None if self.info.optional and widget.value() == widget.minimum() else widget.value()
        if isinstance(widget, QDoubleSpinBox):
            return round(widget.value(), 4)
        if isinstance(widget, QPlainTextEdit):
            return widget.toPlainText()
        if isinstance(widget, QLineEdit):
            return widget.text()
        text = self._line.text().strip()
        return Path(text) if text else None


class SettingsDialog(QDialog):
    def __init__(self, current: Settings, key_note: str, parent: QWidget | None = None,
                 thread_table: ThreadTable | None = None, endpoint_note: str = "") -> None:
        super().__init__(parent)
        self.setWindowTitle("Settings")
        self.current = current
        self.result_settings: Settings | None = None
        self.endpoint_requested = False
        self.measure_requested = False
        self.fields: dict[str, _Field] = {}
        tabs = QTabWidget()
        forms: dict[str, QFormLayout] = {}
        for info in schema.describe():
            if info.path in SKIPPED:
                continue
            section = info.path.rsplit(".", 1)[0] if "." in info.path else ""
            if section not in forms:
                page = QWidget()
                forms[section] = QFormLayout(page)
                tabs.addTab(page, SECTION_TITLES.get(section, section.replace("_", " ").capitalize()))
            field = _Field(info, current.value(info.path))
            self.fields[info.path] = field
            label = QLabel(_label(info.path))
            label.setToolTip(info.description)
            forms[section].addRow(label, field.widget)
        endpoint_form = forms.get("endpoint")
        if endpoint_form is not None:
            # Where the large side in use comes from (e.g. the command line, for this session only), above its
            # fields, so they are never read as the saved setting when they are not.
            self.endpoint_note = QLabel(endpoint_note)
            self.endpoint_note.setObjectName("endpoint_note")
            self.endpoint_note.setWordWrap(True)
            if endpoint_note:
                endpoint_form.insertRow(0, self.endpoint_note)
            self.key_note = QLabel(key_note)
            self.key_note.setObjectName("key_note")
            self.key_note.setWordWrap(True)
            button = QPushButton("Set up the large model and its API key…")
            button.clicked.connect(self._on_endpoint)
            endpoint_form.addRow(self.key_note)
            endpoint_form.addRow(button)
        engine_form = forms.get("local_engine")
        if engine_form is not None:
            self.threads_table = measured_threads_table(thread_table)
            engine_form.addRow(QLabel(threads_caption(thread_table)))
            engine_form.addRow(self.threads_table)
            measure = QPushButton("Measure again")
            measure.setToolTip("Measure decode and prompt rates for each thread count on the loaded model (a few "
                               "seconds); the settings close and the small pane shows the progress.")
            measure.clicked.connect(self._on_measure)
            row = QHBoxLayout()
            row.addWidget(measure)
            row.addStretch(1)
            engine_form.addRow(row)
        self.prices = QTableWidget(0, 3)
        self.prices.setHorizontalHeaderLabels(["Model", "Input $/M tokens", "Output $/M tokens"])
        self.prices.setToolTip(schema.Settings.__dataclass_fields__["price_overrides"].metadata["description"])
        for price in current.price_overrides:
            self._add_price_row(price.model, price.input_per_million, price.output_per_million)
        add = QPushButton("Add price")
        add.clicked.connect(lambda: self._add_price_row("", 0.0, 0.0))
        remove = QPushButton("Remove selected")
        remove.clicked.connect(lambda: self.prices.removeRow(self.prices.currentRow()))
        prices_page = QWidget()
        prices_layout = QVBoxLayout(prices_page)
        prices_layout.addWidget(QLabel("Your prices replace the bundled table's for these models."))
        prices_layout.addWidget(self.prices)
        row = QHBoxLayout()
        row.addWidget(add)
        row.addWidget(remove)
        row.addStretch(1)
        prices_layout.addLayout(row)
        prices_layout.addWidget(QLabel("Known prices, by provider: where each comes from and how old it is "
                                       f"(older than {STALE_AFTER_DAYS} days: stale, check the provider's page). "
                                       "A server on this computer costs $0; OpenRouter's come from its models "
                                       "endpoint when you use it."))
        self.known_prices = known_prices_table(PriceTable.load())
        prices_layout.addWidget(self.known_prices)
        tabs.addTab(prices_page, "Prices")
        self.message = QLabel("")
        self.message.setWordWrap(True)
        self.message.setObjectName("settings_message")
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self._on_accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(tabs)
        layout.addWidget(self.message)
        layout.addWidget(buttons)
        # Sized by the font, not in pixels, so the forms fit at any scaling and font size.
        metrics = self.fontMetrics()
        every_tab = tabs.tabBar().sizeHint().width() + 4 * metrics.averageCharWidth()  # no scroll arrows
        self.resize(self.sizeHint().expandedTo(QSize(max(every_tab, metrics.averageCharWidth() * 84),
                                                     metrics.height() * 30)))
        self.tabs = tabs

    def _add_price_row(self, model: str, input_price: float, output_price: float) -> None:
        row = self.prices.rowCount()
        self.prices.insertRow(row)
        for column, value in enumerate((model, f"{input_price:g}", f"{output_price:g}")):
            self.prices.setItem(row, column, QTableWidgetItem(value))

    def _price_rows(self) -> tuple[PriceOverride, ...]:
        prices = []
        for row in range(self.prices.rowCount()):
            cells = [self.prices.item(row, column) for column in range(3)]
            texts = [cell.text().strip() if cell is not None else "" for cell in cells]
            if not any(texts):
                continue
            try:
                prices.append(PriceOverride(texts[0], float(texts[1]), float(texts[2])))
            except ValueError as error:
                raise SettingValueError("price_overrides", f"row {row + 1}: {error}") from None
        return tuple(prices)

    def collect(self) -> Settings:
        """The settings as edited; SettingValueError (with a message for the user) when one is invalid."""
        updated = self.current
        for path, field in self.fields.items():
            updated = updated.with_value(path, field.value())
        return updated.with_value("price_overrides", self._price_rows())

    def _on_accept(self) -> None:
        try:
            self.result_settings = self.collect()
        except SettingValueError as error:
            self.message.setText(f"⚠ {error}")
            return
        self.accept()

    def _on_measure(self) -> None:
        self.measure_requested = True
        self._on_accept()
        self.measure_requested = self.result_settings is not None  # not when a setting was refused

    def _on_endpoint(self) -> None:
        self.endpoint_requested = True
        self._on_accept()


def threads_caption(table: ThreadTable | None) -> str:
    if table is None:
        return "Threads: not measured yet for this model (it is measured when the model loads)."
    fastest, efficient = table.choose("fastest"), table.choose("efficient")
    return (f"Measured on {table.measured_at.replace('T', ' ')} for {table.model}, {table.usable_cores} usable "
            f"cores. Fastest: {fastest.threads} for decoding, {fastest.threads_batch} for prompts; most efficient: "
            f"{efficient.threads} and {efficient.threads_batch}. A number in Threads above overrides both.")


def measured_threads_table(table: ThreadTable | None) -> QTableWidget:
    """The measured figures per thread count, as the settings show them."""
    headers = ["Threads", "Decode tok/s", "Prompt tok/s", "CPU-s / 100 tok (decode)", "CPU-s / 100 tok (prompt)",
               "J / 100 tok (decode, package)"]
    rows = table.rows if table is not None else ()
    widget = QTableWidget(len(rows), len(headers))
    widget.setObjectName("threads_table")
    widget.setHorizontalHeaderLabels(headers)
    widget.verticalHeader().setVisible(False)
    widget.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
    for r, row in enumerate(rows):
        joules = f"{row.decode_joules_per_100:.1f}" if row.decode_joules_per_100 is not None else "n/a"
        for c, text in enumerate((str(row.threads), f"{row.decode_rate:.1f}", f"{row.prefill_rate:.0f}",
                                  f"{row.decode_cpu_per_100:.2f}", f"{row.prefill_cpu_per_100:.2f}", joules)):
            item = QTableWidgetItem(text)
            item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            widget.setItem(r, c, item)
    widget.resizeColumnsToContents()
    widget.resizeRowsToContents()
    # Every row shown, no scroll bar (a few thread counts at most); an empty table keeps room for two rows.
    body = sum(widget.rowHeight(r) for r in range(len(rows))) or 2 * widget.verticalHeader().defaultSectionSize()
    height = widget.horizontalHeader().sizeHint().height() + body + 2 * widget.frameWidth() + 2
    widget.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    widget.setFixedHeight(height)
    return widget


def known_prices_table(table: PriceTable) -> QTableWidget:
    """A read-only table of every known price: provider host, model, $/M in and out, source, age."""
    rows = table.entries()
    widget = QTableWidget(len(rows), 6)
    widget.setObjectName("known_prices")
    widget.setHorizontalHeaderLabels(["Provider", "Model", "Input $/M", "Output $/M", "Source", "Age"])
    widget.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
    for row, (host, price) in enumerate(rows):
        age = price.age_days()
        shown_age = "?" if age is None else f"{age} d" + (" (stale)" if price.stale() else "")
        for column, value in enumerate((price.provider or host, price.model, f"{price.input_per_million:g}",
                                        f"{price.output_per_million:g}", price.source, shown_age)):
            item = QTableWidgetItem(value)
            item.setToolTip(price.describe())
            widget.setItem(row, column, item)
    widget.resizeColumnsToContents()
    return widget
