"""Evaluate…: repeated A/B runs of an evaluation set from the window, with progress, Stop, and the report.

The evaluation runs through the window's own session (so the panes show each item as it streams and every
item's trial lands in the history), off the GUI thread through `ui/background.py`, which also brings its progress
and its end back to the GUI thread. Stopping
keeps what was measured: the partial results are summarised and can be saved as a report like whole ones.
"""

from __future__ import annotations

import logging
from concurrent.futures import Future
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from lmscales.core import offline
from lmscales.core.decision import decide_all
from lmscales.core.decision.report_html import render_report
from lmscales.core.decision.running import RunningVerdict, running_scores
from lmscales.core.decision.settings import DecisionSettings
from lmscales.core.decision.view_text import results_text
from lmscales.core.eval_journal import JournalError, known_ids
from lmscales.core.evaluation import EvalPlan, EvalProgress, Evaluation
from lmscales.core.judge_choice import choose_judge
from lmscales.core.quality.judge import Judge, JudgeRefused
from lmscales.core.quality.results import EvalResult, task_figures
from lmscales.core.quality.sets import EvalSetError, load_set
from lmscales.core.session import Session
from lmscales.core.storage import write_atomically
from lmscales.core.trial import GenerationParams
from lmscales.core.workspace import Workspace
from lmscales.ui.background import outcome, run_in_background, run_on_main

SETS = (("Translation (63 sentences)", "translate"), ("Summaries (20 texts)", "summarize"),
        ("Chat (44 prompts)", "chat"), ("Translation, quick (6)", "translate-smoke"),
        ("Summaries, quick (4)", "summarize-smoke"), ("Chat, quick (6)", "chat-smoke"))


log = logging.getLogger(__name__)

class EvalDialog(QDialog):
    def __init__(self, session: Session, params: GenerationParams, parent: QWidget | None = None, *,
                 workspace: Workspace | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Evaluate both sides")
        self.session = session
        self.workspace = workspace  # told when an evaluation ends; its decision settings give the advice
        self.params = params
        self.evaluation: Evaluation | None = None
        self.outcome: EvalResult | None = None
        self._so_far: RunningVerdict | None = None
        self._run: Future[EvalResult] | None = None

        self.set_choice = QComboBox()
        for title, name in SETS:
            self.set_choice.addItem(title, name)
        self.set_choice.addItem("A set of my own (JSONL)…", "")
        self.set_choice.setCurrentIndex(3)
        self.custom_path: str | None = None
        self.repeats = QSpinBox()
        self.repeats.setRange(1, 20)
        self.repeats.setValue(2)
        self.repeats.setToolTip("How often each item runs on each side; the spread of the figures needs more than one")
        self.judge_choice = QComboBox()
        self.judge_choice.addItem("No judge", "none")
        self.judge_choice.addItem("The large side (judge is also a contestant)", "large")
        self.judge_choice.setToolTip("A blind judge compares the two answers in both orders; a win counts only when "
                                     "both orders agree. The small model is never the judge.")
        self.concurrency = QSpinBox()  # 0: from where the large side runs (4 for an API, else 1)
        self.concurrency.setRange(0, 32)
        self.concurrency.setSpecialValueText("From where it runs")
        self.concurrency.setToolTip("The large side's requests at once: by default 4 for an API beyond this computer "
                                    "(and both sides at once), 1 for a server on it. The report says which.")
        self.resume_choice = QComboBox()
        self.resume_choice.addItem("Start a new evaluation", None)
        for evaluation_id in known_ids()[:10]:
            self.resume_choice.addItem(f"Resume {evaluation_id}", evaluation_id)
        self.resume_choice.setToolTip("Continue a stopped evaluation with the same set and parameters: only what "
                                      "is missing runs")
        form = QFormLayout()
        form.addRow("Set", self.set_choice)
        form.addRow("Repeats", self.repeats)
        form.addRow("Judge", self.judge_choice)
        form.addRow("Large side at once", self.concurrency)
        form.addRow("Evaluation", self.resume_choice)
        form.addRow("Parameters", QLabel(f"max {params.max_tokens} tokens, temperature {params.temperature:g}, "
                                         f"seed {params.seed} (from Generation settings); one warm-up discarded"))

        self.progress = QProgressBar()
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.status = QLabel("Both sides get the same items and parameters, one side after the other.")
        self.status.setWordWrap(True)
        self.verdict = QLabel("")
        self.verdict.setWordWrap(True)
        self.verdict.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.start_button = QPushButton("Start")
        self.start_button.setDefault(True)
        self.stop_button = QPushButton("Stop")
        self.stop_button.setToolTip("Stop now; what was measured so far is kept")
        self.stop_button.setEnabled(False)
        self.save_button = QPushButton("Save report…")
        self.save_button.setEnabled(False)
        self.close_button = QPushButton("Close")
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        for button in (self.start_button, self.stop_button, self.save_button, self.close_button):
            buttons.addWidget(button)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.progress)
        layout.addWidget(self.status)
        layout.addWidget(self.verdict, 1)
        layout.addLayout(buttons)
        self.setMinimumWidth(self.fontMetrics().horizontalAdvance("x") * 90)

        self.set_choice.activated.connect(self._on_set_chosen)
        self.start_button.clicked.connect(self.start)
        self.stop_button.clicked.connect(self.stop)
        self.save_button.clicked.connect(self.save_dialog)
        self.close_button.clicked.connect(self.close)

    @property
    def running(self) -> bool:
        return self._run is not None and not self._run.done()

    def _on_set_chosen(self) -> None:
        if self.set_choice.currentData() == "":
            path, _ = QFileDialog.getOpenFileName(self, "An evaluation set", "", "JSON Lines (*.jsonl);;All files (*)")
            self.custom_path = path or None

    def _judge(self) -> Judge | None:
        if self.judge_choice.currentData() != "large":
            return None
        judge, _ = choose_judge("large", self.session.engines, offline=offline.enabled())  # no engine built
        return judge

    def start(self) -> None:
        if self.running or self.session.running:
            self.status.setText("A comparison is running; wait for it or stop it first.")
            return
        spec = self.set_choice.currentData() or self.custom_path
        if not spec:
            self.status.setText("Choose a set first.")
            return
        try:
            evaluation_set = load_set(spec)
            plan = EvalPlan(evaluation_set, self.params, repeats=self.repeats.value(),
                            concurrency=self.concurrency.value() or None)
            judge = self._judge()
            workspace = self.workspace
            evaluation = Evaluation(self.session, plan, judge, self._progressed,
                                    make_engine=(lambda: workspace.another_engine("large")) if workspace else None)
            evaluation.start_journal(self.resume_choice.currentData())  # each trial on disk as it finishes
        except (EvalSetError, JudgeRefused, JournalError, ValueError) as error:
            self.status.setText(f"⚠ {error}")
            return
        # The verdict so far, built on the evaluation's thread between runs (never while one is measured).
        self._so_far = RunningVerdict(evaluation.result, workspace.decision_settings if workspace
                                      else DecisionSettings())
        self.evaluation = evaluation
        self.outcome = None
        self.verdict.setText("")
        self.start_button.setEnabled(False)
        self.stop_button.setEnabled(True)
        self.save_button.setEnabled(False)
        self.status.setText("Starting…")
        self._run = run_in_background(self.evaluation.run, self._on_finished)

    def stop(self) -> None:
        if self.evaluation is not None:
            self.evaluation.cancel()
            self.status.setText("Stopping; what was measured so far is kept…")

    def _progressed(self, step: EvalProgress) -> None:
        """Called on the evaluation's thread: the bar, the status and the verdict so far change on the GUI
        thread."""
        so_far = None
        if self._so_far is not None:
            try:
                so_far = self._so_far.update(step.measured)
            except Exception:  # a verdict that cannot be built yet must never stop the evaluation
                log.exception("The verdict so far could not be built")
        run_on_main(lambda: self._on_progress(step, so_far))

    def _on_progress(self, step: EvalProgress, so_far: str | None = None) -> None:
        self.progress.setRange(0, max(1, step.total))
        self.progress.setValue(step.done)
        scores = running_scores(step.scores, step.failed)
        self.status.setText(f"{step.done} of {step.total}: {step.message}" + (f" ({scores})" if scores else ""))
        if so_far:
            self.verdict.setText(f"So far (it firms up as items come in):\n{so_far}")

    def _on_finished(self, run: Future[EvalResult]) -> None:
        result = outcome(run)  # an error is shown in the dialog, never lost
        self.start_button.setEnabled(True)
        self.stop_button.setEnabled(False)
        if isinstance(result, BaseException):
            self.status.setText(f"⚠ The evaluation failed: {result}")
            return
        self.outcome = result
        partial = self.evaluation is not None and self.evaluation.cancelled
        measured = [task for task in result.tasks if task.items]
        sentences = [task_figures(task).verdict for task in measured]
        if self.workspace is not None:  # each task's advice and break-even, as "Which model?" shows them
            self.workspace.evaluation_ended(result)
            decisions = {d.task: d for d in decide_all(result, self.workspace.decision_settings)}
            sentences = [f"{verdict}\n{results_text(decisions[task.task])}" for verdict, task in
                         zip(sentences, measured, strict=True)]
        self.verdict.setText("\n\n".join(sentences) or "Nothing was measured before the stop.")
        self.save_button.setEnabled(bool(sentences))
        count = self.evaluation.trial_count if self.evaluation is not None else 0
        problem = self.evaluation.journal_problem if self.evaluation is not None else None
        self.status.setText(("Stopped: partial results. " if partial else "Done. ")
                            + f"{count} comparisons, each kept in the history."
                            + (f" ⚠ {problem} It cannot be resumed." if problem else ""))

    def save(self, path: str | Path) -> Path:
        if self.outcome is None:
            raise ValueError("There is no result to save yet.")
        # The decision under the user's settings, as the window shows it (the command line's report has it too).
        decisions = decide_all(self.outcome, self.workspace.decision_settings) if self.workspace else None
        return write_atomically(Path(path), render_report(self.outcome, decisions).encode("utf-8"))

    def save_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Save the report", "lmscales-report.html", "HTML (*.html)")
        if not path:
            return
        try:
            written = self.save(path)
        except OSError as error:
            self.status.setText(f"⚠ Could not save the report: {error.strerror or error}")
            return
        self.status.setText(f"Report saved to {written}.")

    def closeEvent(self, event) -> None:  # type: ignore[no-untyped-def]  # Qt override
        if self.running:
            self.stop()
        super().closeEvent(event)
