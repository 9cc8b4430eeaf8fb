"""Presenter mode: the comparison for a room, full screen, in type a back row can read.

`Presenter` is made by the main window and follows the same session bridge as the panes; entering presenter
mode opens `PresenterWindow` (full screen) over the main window, which keeps running underneath. The
presenter window shows each side's answer in large type, a scoreboard (first token, speed, cost, energy,
quality) with a ★ and the words "wins" on the better side of each figure, one simple graph (tokens/s per
side), and, with a scenario, a strip of the steps and a separate notes window with the talking points.
After the talk, E saves the scoreboard as a PNG and the window's comparisons as an HTML report and as Markdown.

Keys (a presenter's clicker sends PageDown/PageUp): Space or PageDown runs the next step (or plays the next
recorded trial in a replay), PageUp goes back one step, S stops the run, T switches light/dark, N shows the
notes window, Esc or F11 leave presenter mode. Leaving never stops a run.

What runs when is the `ScenarioStepper`'s to decide (core, no Qt); this controller asks it, runs what it
plans through the window's `submit`, and shows the session's events. Its widgets are one a file beside it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QApplication, QWidget

from lmscales.core.extrapolation import million_answers, million_answers_text
from lmscales.core.recording import Collector
from lmscales.core.resource_monitor import ResourceMonitor
from lmscales.core.scenario import Scenario, Step
from lmscales.core.scenario_stepper import ScenarioStepper, SidesNow, StepRefused, StepRun
from lmscales.core.session import SLOTS, Session, SideStarted, TrialStarted
from lmscales.core.trial import GenerationParams, SideResult, TaskInput, Trial
from lmscales.core.vote_report import audience_sentence
from lmscales.ui.presenter.answer_column import AnswerColumn
from lmscales.ui.presenter.blind_step import BlindMode, PresenterBlind
from lmscales.ui.presenter.focus import KeyboardClaim
from lmscales.ui.presenter.handout import demo_folder, save_handout
from lmscales.ui.presenter.look import KEY_HINT, THEMES
from lmscales.ui.presenter.notes import PresenterNotes
from lmscales.ui.presenter.window import PresenterWindow
from lmscales.ui.replay import ReplayController, ReplayPlayer
from lmscales.ui.session_bridge import SessionBridge

log = logging.getLogger(__name__)

Submit = Callable[[TaskInput, GenerationParams, tuple[str, ...]], str]


def _never_loading(_side: str) -> bool:
    return False


class Presenter(QObject):
    """Presenter mode and scenario stepping for a window. Everything it uses comes in here: `submit(task_input,
    params, sides)` runs a step through the window (so the panes and the history see it too); `stop()` stops
    the run; `recorder` holds this window's comparisons (what E exports); `replay` plays recordings (the graph
    draws their samples, and Space steps through a whole one); `loading(side)` says whether that side's model
    is loading (a step that needs it waits for it: `run_queued` once loaded, `drop_queued` if it failed)."""

    entered = Signal(bool)
    problem = Signal(str)

    def __init__(self, session: Session, bridge: SessionBridge, monitor: ResourceMonitor, *, submit: Submit,
                 stop: Callable[[], None], recorder: Collector, replay: ReplayController,
                 loading: Callable[[str], bool] = _never_loading, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.bridge = bridge
        self.recorder = recorder
        self._submit = submit
        self._loading = loading
        self.owner = parent
        self.window = PresenterWindow(monitor)
        self.notes = PresenterNotes()
        self.window.bind_keys(self.notes)
        self.stepper = ScenarioStepper()
        # a vote step: blind through the main window's blind mode, keys 1-4 here and in the notes window
        self.blind_step = PresenterBlind(self.window, self.stepper, self._blind_mode, self._on_revealed,
                                         (self.window, self.notes))
        self.player: ReplayPlayer | None = replay.player  # a whole recording that Space steps through
        self.last_trial: Trial | None = None
        self._themed = False
        self.keyboard = KeyboardClaim(self.window, parent, self)
        self._hint_reset = QTimer(self)
        self._hint_reset.setSingleShot(True)
        self._hint_reset.setInterval(6000)
        self._hint_reset.timeout.connect(lambda: self.window.hint.setText(KEY_HINT))
        self.problem.connect(self._show_problem)
        self.window.leaveRequested.connect(self.leave)
        self.window.nextRequested.connect(self.next_step)
        self.window.previousRequested.connect(self.previous_step)
        self.window.stopRequested.connect(stop)
        self.window.themeToggled.connect(self.toggle_theme)
        self.window.notesRequested.connect(self.show_notes)
        self.window.exportRequested.connect(self._on_export)
        for signal in (self.window.nextRequested, self.window.previousRequested, self.window.stopRequested,
                       self.window.themeToggled, self.window.notesRequested, self.window.exportRequested):
            signal.connect(self.keyboard.release)  # the presenter's first key: from now on the user decides
        self._followed = ((bridge.trialStarted, self._on_trial_started), (bridge.sideStarted, self._on_side_started),
                          (bridge.deltasReady, self._on_deltas), (bridge.noticed, self._on_notice),
                          (bridge.sideEnded, self._on_side_ended), (bridge.trialEnded, self._on_trial_ended),
                          # A replay's recorded samples, in the graph while they play.
                          (replay.sourceChanged, self.window.graph.set_source),
                          (replay.playerStarted, self._on_player_started))
        for signal, slot in self._followed:
            signal.connect(slot)
        self.disposed = False

    @property
    def active(self) -> bool:
        return not self.disposed and self.window.isVisible()

    # -- entering and leaving ----------------------------------------------------------------------------
    def enter(self) -> None:
        if self.disposed:
            return
        if not self._themed:  # first time: the app's own light or dark, in high contrast
            app = QApplication.instance()
            self.window.apply_theme("dark" if app is not None and app.property("lmscalesDark") else "light")
            self._themed = True
        self._show_strip()
        owner_screen = self.owner.screen() if self.owner is not None else None
        screen = owner_screen or QGuiApplication.primaryScreen()
        if screen is not None:
            # The whole screen even where nothing applies "full screen" (X without a window manager, a kiosk);
            # a window manager that does puts it there anyway.
            self.window.setGeometry(screen.geometry())
        self.window.showFullScreen()
        self.keyboard.claim()
        self.window.graph.timer.start()
        self.entered.emit(True)

    def leave(self) -> None:
        """Back to the main window; a run in progress goes on (its result is in the panes); a step waiting for
        the model to load does not start behind the presenter's back."""
        self.keyboard.release()
        self.stepper.forget_queued()
        self.blind_step.leave()
        self.window.graph.timer.stop()
        self.window.hide()
        self.notes.hide()
        if self.owner is not None:
            self.owner.activateWindow()
        self.entered.emit(False)

    def dispose(self) -> None:
        """The main window closes: its presenter and notes windows (top-level, so not its children) go with it,
        deleted here on the GUI thread. Left to Python's garbage collector they would be destroyed in whatever
        thread collects them (a stream's reader, say), and a widget destroyed off the GUI thread warns or
        crashes."""
        if self.disposed:
            return
        self.disposed = True
        self.stepper.forget_queued()
        self.keyboard.close()
        for signal, slot in self._followed:  # a run or a replay that ends after the close has nothing to show
            signal.disconnect(slot)
        self.window.graph.timer.stop()
        self._hint_reset.stop()
        for window in (self.window, self.notes):
            window.hide()
            window.deleteLater()

    def toggle(self) -> None:
        if self.active:
            self.leave()
        else:
            self.enter()

    def _show_problem(self, message: str) -> None:
        """In the room's view too: the main window's status bar is hidden behind presenter mode (and in the log,
        for whoever looks into a demo that did not go as planned)."""
        log.info("presenter: %s", message)
        self.window.hint.setText(f"⚠ {message}")
        self._hint_reset.start()

    def toggle_theme(self) -> None:
        self._themed = True
        self.window.apply_theme("light" if self.window.theme == "dark" else "dark")

    def show_notes(self) -> None:
        self.notes.show()

    def set_banner(self, text: str) -> None:
        if self.disposed:
            return
        self.window.banner.setText(text)
        self.window.banner.setVisible(bool(text))

    # -- scenario stepping ------------------------------------------------------------------------------------
    @property
    def scenario(self) -> Scenario | None:
        return self.stepper.scenario

    @property
    def step_index(self) -> int:
        """The step shown; -1: none yet."""
        return self.stepper.index

    @property
    def current_step(self) -> Step | None:
        return self.stepper.current

    def load_scenario(self, scenario: Scenario) -> None:
        self.stepper.load(scenario)
        self.window.title.setText(scenario.title)
        self._show_strip()

    def _show_strip(self) -> None:
        stepper = self.stepper
        steps = stepper.steps
        self.window.strip.show_steps([step.title for step in steps], stepper.index)
        self.window.strip.setVisible(bool(steps))
        self.notes.show_step(stepper.index + 1, len(steps), stepper.current, stepper.following)

    def _now(self) -> SidesNow:
        return SidesNow.of(self.session.running, (side for side in SLOTS if self._loading(side)),
                           (side for side in SLOTS if self.session.available(side)))

    def next_step(self) -> None:
        if self.player is not None:
            if not self.player.next_trial():
                self.problem.emit(StepRefused("last_recorded").message)
            return
        self._run(self.stepper.next(self._now()))

    def previous_step(self) -> None:
        if self.player is not None:
            self.player.previous_trial()
            return
        plan = self.stepper.previous(self._now())
        if plan is not None:
            self._run(plan)

    def run_step(self, index: int) -> bool:
        return self._run(self.stepper.plan(index, self._now()))

    def _run(self, plan: StepRun | StepRefused) -> bool:
        if isinstance(plan, StepRefused):
            self.problem.emit(plan.message)
            return False
        self.session.new_chat()  # each step stands alone
        refused = self.blind_step.before(plan.step)
        if refused is not None:
            self.problem.emit(refused)
            return False
        try:
            self._submit(plan.input, plan.params, plan.sides)
        except ValueError as error:
            self.blind_step.not_started()
            self.problem.emit(str(error))
            return False
        self.stepper.started(plan)
        self._show_strip()
        self.window.title.setText(self.stepper.heading)
        log.info("presenter: step %d of %d started: %s", plan.number, len(self.stepper.steps), plan.step.title)
        return True

    def run_queued(self) -> None:
        """The small model is ready: run the step Space asked for while it loaded (if presenter mode is on)."""
        index = self.stepper.take_queued()
        if index is not None and self.active:
            self.run_step(index)

    def drop_queued(self, message: str) -> None:
        """The small model did not load: the step that waited for it does not run."""
        refused = self.stepper.drop_queued(message)
        if refused is not None:
            self.problem.emit(refused.message)

    def _on_player_started(self, player: ReplayPlayer) -> None:
        """A whole recording plays: Space and PageUp step through its comparisons, under its title."""
        self.player = player
        if not self.disposed:
            self.window.title.setText(player.recording.title or "Replay")

    # -- the session's events --------------------------------------------------------------------------------
    def _on_trial_started(self, event: TrialStarted) -> None:
        self.window.board.clear()
        self.window.extrapolation.setVisible(False)
        for side, column in self.window.columns.items():
            column.badge.setVisible(False)
            if side in event.sides:
                column.view.begin()
                column.status.setText("Waiting for the first token…")
            else:
                column.view.begin()
                column.view.finish()
                column.status.setText("Not in this step." if self.session.available(side) else "Not set up.")
            column.title.setText(self.session.labels.get(side, side))
        self.blind_step.trial_started()

    def _column(self, side: str) -> AnswerColumn | None:
        return self.window.columns.get(self.blind_step.column_side(side))  # blind: A left, B right

    def _blind_mode(self) -> BlindMode | None:
        mode = getattr(self.owner, "blind", None)  # the main window's Run › Blind comparison
        return mode if isinstance(mode, BlindMode) else None

    def _on_side_started(self, side: str, event: SideStarted) -> None:
        column = self._column(side)
        if column is None or self.blind_step.active:  # blind: no model name, no RECORDED badge
            return
        info = event.engine
        where = {"this_cpu": " · on this CPU", "this_computer": " · on this computer", "remote": " · API"}[
            info.model_runs]
        column.title.setText(f"{self.session.labels.get(side, side)}{where} · {event.engine.model}")
        column.badge.setVisible(event.engine.recorded)

    def _on_deltas(self, side: str, deltas: list[object]) -> None:
        column = self._column(side)
        if column is not None and deltas:
            column.view.add("".join(getattr(delta, "text", "") for delta in deltas))
            column.status.setText("Streaming…")

    def _on_notice(self, side: str, notice: object) -> None:
        self._status(side, str(getattr(notice, "message", notice)))

    def _status(self, side: str, message: str) -> None:
        column = self._column(side)
        if column is not None:
            column.status.setText(message)

    def _on_side_ended(self, side: str, result: SideResult) -> None:
        column = self._column(side)
        if column is None:
            return
        column.view.finish()
        if result.skipped is not None:
            column.status.setText(f"⚠ {result.skipped}")
        elif result.error is not None:
            column.status.setText(f"⚠ {result.error.message}")
        else:
            column.status.setText("Replayed from a recording." if result.recorded else "Done.")

    def _on_trial_ended(self, trial: Trial) -> None:
        self.last_trial = trial
        if self.blind_step.trial_ended():
            return  # the scoreboard waits for the room's vote (`_on_revealed`)
        self._on_revealed(trial)

    def _on_revealed(self, trial: Trial) -> None:
        self.last_trial = trial
        self.window.board.show_trial(trial)
        self.show_votes()
        self.window.fit_board()
        if self.stepper.extrapolation == "million_answers" and self.player is None:
            self.show_extrapolation(trial)

    def show_votes(self) -> None:
        """The audience's blind votes of this session under the scoreboard, when there are any (again after a vote)."""
        self.window.board.show_votes(audience_sentence(self.recorder.trials))

    # -- after the talk ---------------------------------------------------------------------------------------
    def export_artifacts(self, folder: Path) -> list[Path]:
        """The current scoreboard as a PNG and this window's comparisons as an HTML report and as Markdown, into
        `folder`. `ValueError` when nothing has run yet; `OSError` when the folder cannot be written."""
        trials = list(self.recorder.trials) if self.last_trial is not None else []
        return save_handout(self.window.board, THEMES[self.window.theme]["bg"], trials, folder)

    def _on_export(self) -> None:
        folder = demo_folder()
        try:
            written = self.export_artifacts(folder)
        except (ValueError, OSError) as error:
            self.problem.emit(str(error))
            return
        self.window.hint.setText(f"Saved {', '.join(path.name for path in written)} in {folder}")
        self._hint_reset.start()

    def show_extrapolation(self, trial: Trial) -> None:
        text = million_answers_text(million_answers([trial]))
        if not text:
            return
        self.window.extrapolation.setText(text)
        self.window.extrapolation.setVisible(True)
