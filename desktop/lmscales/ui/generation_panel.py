"""Shared generation settings (the same for both sides, for a fair comparison) and the run mode."""

from __future__ import annotations

from collections.abc import Iterable

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from lmscales.core import tasks
from lmscales.core.defaults import MAX_SEED, MAX_TEMPERATURE
from lmscales.core.engines.remote.capabilities import takes_reasoning_effort
from lmscales.core.generation import GENERATION_DEFAULTS, REASONING_EFFORTS, GenerationParams, RunMode
from lmscales.core.settings import Settings

RUN_MODES: dict[RunMode, str] = {"parallel": "Both at once", "sequential": "One after the other (fair CPU measurement)"}


class GenerationPanel(QWidget):
    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.max_tokens = QSpinBox()
        self.max_tokens.setRange(1, 8192)
        self.max_tokens.setValue(GENERATION_DEFAULTS.max_tokens)
        self.max_tokens.setToolTip("Most tokens either side may generate")
        self.temperature = QDoubleSpinBox()
        self.temperature.setRange(0.0, MAX_TEMPERATURE)
        self.temperature.setSingleStep(0.1)
        self.temperature.setValue(GENERATION_DEFAULTS.temperature)
        self.temperature.setToolTip("Sampling temperature; 0 is greedy")
        self.top_p = QDoubleSpinBox()
        self.top_p.setRange(0.0, 1.0)
        self.top_p.setSingleStep(0.05)
        self.top_p.setValue(GENERATION_DEFAULTS.top_p)
        self.top_p.setToolTip("Nucleus sampling: keep the smallest set of tokens whose probability adds up to this")
        self.seed = QSpinBox()
        self.seed.setRange(-1, MAX_SEED)  # -1 shows as "random" (seed None)
        self.seed.setValue(-1 if GENERATION_DEFAULTS.seed is None else GENERATION_DEFAULTS.seed)
        self.seed.setSpecialValueText("random")
        self.seed.setToolTip("Same seed, same settings, same local answer; remote servers may ignore it")
        self.reasoning_effort = QComboBox()
        self.reasoning_effort.addItem("model's default", None)
        for effort in REASONING_EFFORTS:
            self.reasoning_effort.addItem(effort, effort)
        self.reasoning_effort.setToolTip(
            "How hard a model that thinks (GPT-5, o-series, gpt-oss, DeepSeek R1 ...) should think before it "
            "answers. Sent only when set; a model that does not take it runs without it, and the pane says so. "
            "The small model on this CPU does not think and ignores it.")
        self.run_mode = QComboBox()
        for key, label in RUN_MODES.items():
            self.run_mode.addItem(label, key)
        self.run_mode.setToolTip("Run both sides at once, or the small one first and then the large one, so the "
                                 "CPU figures of the small side are not disturbed")
        self.system_prompt = QPlainTextEdit()
        self.system_prompt.setMaximumHeight(70)
        self.system_prompt.setToolTip("The system message of the current task; both sides receive it")
        self._prompts: dict[tasks.TaskName, str] = dict(tasks.DEFAULT_SYSTEM_PROMPTS)
        self._task: tasks.TaskName = "chat"
        self.system_prompt.setPlainText(self._prompts[self._task])

        numbers = QHBoxLayout()
        for label, widget in (("Max tokens", self.max_tokens), ("Temperature", self.temperature),
                              ("Top-p", self.top_p), ("Seed", self.seed), ("Thinking", self.reasoning_effort)):
            caption = QLabel(label)
            numbers.addWidget(caption)
            numbers.addWidget(widget)
        self.reasoning_label = caption
        self._thinking_model = False
        numbers.addStretch(1)
        form = QFormLayout()
        form.addRow("Run", self.run_mode)
        self.system_label = QLabel("System prompt (chat)")
        form.addRow(self.system_label, self.system_prompt)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(numbers)
        layout.addLayout(form)
        for spin in (self.max_tokens, self.seed):
            spin.valueChanged.connect(self.changed)
        for dspin in (self.temperature, self.top_p):
            dspin.valueChanged.connect(self.changed)
        self.run_mode.currentIndexChanged.connect(self.changed)
        self.reasoning_effort.currentIndexChanged.connect(self.changed)
        self.reasoning_effort.currentIndexChanged.connect(self._update_thinking)
        self.system_prompt.textChanged.connect(self._on_prompt_edited)
        self._update_thinking()

    def show_thinking_for(self, models: Iterable[str]) -> None:
        """The "Thinking" choice only where a side's model thinks (or a choice is already set, so it can be
        seen and cleared): a model that does not think has nothing to choose."""
        self._thinking_model = any(takes_reasoning_effort(model) for model in models)
        self._update_thinking()

    def _update_thinking(self) -> None:
        shown = self._thinking_model or self.reasoning_effort.currentData() is not None
        self.reasoning_label.setVisible(shown)
        self.reasoning_effort.setVisible(shown)

    def set_task(self, task: tasks.TaskName) -> None:
        self._task = task
        self.system_label.setText(f"System prompt ({task})")
        self.system_prompt.blockSignals(True)
        self.system_prompt.setPlainText(self._prompts[task])
        self.system_prompt.blockSignals(False)

    def set_prompt(self, task: tasks.TaskName, text: str) -> None:
        self._prompts[task] = text
        if task == self._task:
            self.set_task(task)

    def _on_prompt_edited(self) -> None:
        self._prompts[self._task] = self.system_prompt.toPlainText()
        self.changed.emit()

    def system_prompt_for(self, task: tasks.TaskName) -> str | None:
        text = self._prompts.get(task, "").strip()
        return text or None

    @property
    def sequential(self) -> bool:
        return bool(self.run_mode.currentData() == "sequential")

    @property
    def chosen_mode(self) -> RunMode:
        return "sequential" if self.sequential else "parallel"

    def params(self) -> GenerationParams:
        """What the panel holds, as the one shape a comparison runs with."""
        seed = self.seed.value()
        return GenerationParams(max_tokens=self.max_tokens.value(), temperature=round(self.temperature.value(), 3),
                                top_p=round(self.top_p.value(), 3), seed=None if seed < 0 else seed,
                                reasoning_effort=self.reasoning_effort.currentData())

    # -- settings ---------------------------------------------------------------------------------------
    def show_settings(self, settings: Settings) -> None:
        """Show the remembered generation settings, run mode and system prompts."""
        values = settings.generation.params()
        self.max_tokens.setValue(values.max_tokens)
        self.temperature.setValue(values.temperature)
        self.top_p.setValue(values.top_p)
        self.seed.setValue(-1 if values.seed is None else values.seed)
        self.reasoning_effort.setCurrentIndex(max(0, self.reasoning_effort.findData(values.reasoning_effort)))
        self.run_mode.setCurrentIndex(self.run_mode.findData(settings.run_mode))
        for task in tasks.TASKS:
            self.set_prompt(task, settings.system_prompts.for_task(task))

    def fold_into(self, settings: Settings) -> Settings:
        """`settings` with what the user set in this panel (to be remembered)."""
        for name, value in self.params().as_dict().items():
            settings = settings.with_value(f"generation.{name}", value)
        settings = settings.with_value("run_mode", self.chosen_mode)
        for task in tasks.TASKS:
            prompt = self.system_prompt_for(task)
            if prompt:
                settings = settings.with_value(f"system_prompts.{task}", prompt)
        return settings
