"""Recorded answers in the window: play a recording back, and fall back to one when the large side fails live.

`ReplayController` plays recorded trials through the window's own session: for the run it puts a replay
engine (from a `ReplaySpec`, through the one engine factory) in each recorded side's slot and puts the real
engines back when the trial has ended, so the panes, the history and the exports treat a replay like any trial
(marked recorded by the session). A whole recording is played by a `ReplayPlayer`, which the controller makes
and announces (`playerStarted`), so presenter mode can step through it with Space.

The fallback: while a recording is loaded (`use_recording`), a live run whose large side fails for want of the
network (no connection, DNS, timeout, refused by offline mode, a 429 or a 5xx) and whose step the recording
holds gets a "Play the recorded answer" button in the large pane (which failures: `core.scenario_stepper`).

While a whole recorded trial replays, the graphs (the resource panel, the presenter's graph) draw the samples
recorded during that trial, played at the replay's pace (`SamplePlayback`), not this machine's live figures;
they go back to live when the trial's samples have played (the graphs follow `sourceChanged`). A fallback
replays one side of a live comparison, so its graphs stay live (the other side ran here).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QFileDialog, QInputDialog, QLabel, QMainWindow, QMenu, QToolBar, QWidget

from lmscales.core.engines.factory import ReplaySpec
from lmscales.core.engines.replay import SPEEDS
from lmscales.core.recording import SUFFIX, Collector, Recording, RecordingError, SamplePlayback
from lmscales.core.recording import load as load_recording
from lmscales.core.recording import save as save_recording
from lmscales.core.scenario_stepper import recorded_fallback
from lmscales.core.session import SessionBusyError, TrialStarted
from lmscales.core.trial import SideResult, TaskInput, Trial
from lmscales.core.workspace import Workspace
from lmscales.ui.session_bridge import SessionBridge
from lmscales.ui.side_pane import SidePane

PLAY_RECORDED = "Play the recorded answer"
PLAYBACK_TICK_MS = 50  # how often recorded samples that are due join the graphs (the monitor takes 4 a second)
# The replay speeds as the speed question offers them, in the order of SPEEDS.
SPEED_CHOICES = [f"×{speed:g}" + (" (as recorded)" if speed == 1 else "") for speed in SPEEDS]


class ReplayController(QObject):
    problem = Signal(str)
    replayStarted = Signal(object)  # the recorded Trial being played
    replayEnded = Signal(object)  # the replayed Trial, as the session made it
    samplesPlayed = Signal(int)  # how many recorded samples just joined the graphs
    playbackEnded = Signal()  # the graphs are live again
    # What the graphs draw: a trial's recorded samples while they play (a `SampleSource`), None: live again.
    sourceChanged = Signal(object)
    playerStarted = Signal(object)  # the `ReplayPlayer` of a whole recording, as it starts

    def __init__(self, workspace: Workspace, bridge: SessionBridge, panes: Mapping[str, SidePane],
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.workspace = workspace
        self.session = workspace.session
        self.bridge = bridge
        self.panes = panes
        self.recording: Recording | None = None
        self.speed = 1.0
        self._live_input: TaskInput | None = None
        self._give_back: Callable[[], None] | None = None  # gives the slots back after a replay
        self._playing: Trial | None = None
        self.player: ReplayPlayer | None = None  # the whole recording being played, if one is
        self.playback: SamplePlayback | None = None
        self._playback_trial_over = False
        self._playback_timer = QTimer(self)
        self._playback_timer.setInterval(PLAYBACK_TICK_MS)
        self._playback_timer.timeout.connect(self._advance_playback)
        bridge.trialStarted.connect(self._on_trial_started)
        bridge.sideEnded.connect(self._on_side_ended)
        bridge.trialEnded.connect(self._on_trial_ended)

    @property
    def playing(self) -> bool:
        return self._give_back is not None

    @property
    def replaying(self) -> Trial | None:
        """The recorded trial being played now, if one is (blind mode shows a recorded blind one blind)."""
        return self._playing

    def use_recording(self, recording: Recording | None) -> None:
        """The recording to fall back to during a live demo (None: no fallback)."""
        self.recording = recording

    # -- playing -----------------------------------------------------------------------------------------
    def play(self, recorded: Trial, sides: Sequence[str] | None = None, recording: Recording | None = None) -> bool:
        """Play `recorded`'s `sides` (default: every side it has an answer or an error for) through the session,
        and, when every side is played, `recording`'s samples of that trial into the graphs. False, with a
        `problem`, when a comparison is running."""
        chosen = tuple(side for side in (sides or [r.side for r in recorded.sides])
                       if (result := recorded.side(side)) is not None and result.skipped is None
                       and side in self.session.engines)
        if not chosen:
            self.problem.emit("That recording has no answer to play for this side.")
            return False
        if self.session.running:
            self.problem.emit("A comparison is running; stop it first.")
            return False
        specs = {side: ReplaySpec(result, self.speed) for side in chosen
                 if (result := recorded.side(side)) is not None}
        self._give_back, self._playing = self.workspace.lend(specs), recorded
        try:
            self.bridge.submit(recorded.input, recorded.params, chosen, recorded.mode)
        except (SessionBusyError, ValueError) as error:
            self._restore()
            self.problem.emit(str(error))
            return False
        whole = set(chosen) >= {result.side for result in recorded.sides if result.skipped is None}
        if recording is not None and whole:
            self._start_playback(recording, recorded)
        self.replayStarted.emit(recorded)
        return True

    # -- the recorded samples ----------------------------------------------------------------------------
    def _start_playback(self, recording: Recording, recorded: Trial) -> None:
        self._end_playback()
        # Nothing recorded for it: empty graphs say so better than this machine's figures would.
        samples, request_at = recording.samples_of(recorded) or ((), 0.0)
        self.playback = SamplePlayback(samples, request_at, time.perf_counter(), self.speed)
        self._playback_trial_over = False
        self.sourceChanged.emit(self.playback)
        self._advance_playback()  # the lead-in is due at once
        self._playback_timer.start()

    def _advance_playback(self) -> None:
        playback = self.playback
        if playback is None:
            return
        due = playback.advance(time.perf_counter())
        if due:
            self.samplesPlayed.emit(len(due))
        if playback.done and self._playback_trial_over:
            self._end_playback()

    def _end_playback(self) -> None:
        self._playback_timer.stop()
        if self.playback is None:
            return
        self.playback = None
        self.sourceChanged.emit(None)
        self.playbackEnded.emit()

    def _restore(self) -> None:
        give_back, self._give_back, self._playing = self._give_back, None, None
        if give_back is not None:
            give_back()

    # -- the fallback ------------------------------------------------------------------------------------
    def _on_trial_started(self, event: TrialStarted) -> None:
        if not self.playing:
            self._live_input = event.input
        for side in event.sides:
            pane = self.panes.get(side)
            if pane is not None:
                pane.withdraw_action()

    def _on_side_ended(self, side: str, result: SideResult) -> None:
        recording = self.recording
        if self.playing or recording is None:
            return
        recorded = recorded_fallback(recording, self._live_input, result)
        if recorded is None or side not in self.panes:
            return
        self.panes[side].offer_action(
            PLAY_RECORDED, lambda: self._play_fallback(recorded, side),
            f"Play the large side's answer to this step as recorded on {recording.origin}; "
            "it is marked 'recorded' in the pane, the history and the exports.")

    def _play_fallback(self, recorded: Trial, side: str) -> None:
        self.panes[side].withdraw_action()
        self.play(recorded, (side,))

    def _on_trial_ended(self, trial: Trial) -> None:
        if self._give_back is None:
            return
        self._restore()
        if self.playback is not None:
            self._playback_trial_over = True
            # Stopped: what was not played would be figures of a run that did not happen here.
            if self.playback.done or any(side.status == "stopped" for side in trial.sides):
                self._end_playback()
        self.replayEnded.emit(trial)

    # -- a whole recording -------------------------------------------------------------------------------
    def play_recording(self, recording: Recording, speed: float = 1.0, auto: bool = True) -> ReplayPlayer:
        """`recording`'s trials in turn (`auto`), or one per `next_trial` (Space in presenter mode)."""
        if self.player is not None:  # one recording plays at a time: the last one no longer moves on
            self.player.stop_following()
        self.speed = speed
        self.player = ReplayPlayer(self, recording, auto, self)
        self.playerStarted.emit(self.player)
        if auto:
            self.player.next_trial()
        return self.player


class ReplayBanner(QToolBar):
    """The band across the top of the window during a replay: "REPLAY of <date, machine>", in words and in a
    frame, so nobody mistakes a recording for a live run."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Replay", parent)
        self.setObjectName("replay_banner")
        self.setMovable(False)
        self.setFloatable(False)
        self.label = QLabel("")
        self.label.setObjectName("replay_banner_text")
        self.label.setStyleSheet("font-weight: 800; font-size: 16pt; padding: 4px 12px; "
                                 "border: 3px solid palette(text); letter-spacing: 1px;")
        self.addWidget(self.label)
        self.setVisible(False)

    def show_recording(self, recording: Recording, speed: float) -> None:
        pace = "" if speed == 1.0 else f" · ×{speed:g} speed"
        self.label.setText(f"▶ {recording.banner}{pace} — recorded figures, no model, no network")
        self.setVisible(True)


class ReplayPlayer(QObject):
    """A whole recording played back, one trial after the other (or one at a time with `next_trial`)."""

    finished = Signal()

    def __init__(self, controller: ReplayController, recording: Recording, auto: bool = True,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.controller = controller
        self.recording = recording
        self.auto = auto
        self.index = -1
        controller.replayEnded.connect(self._on_replay_ended)

    def stop_following(self) -> None:
        """Another recording plays now: this one's trials are not played on after its replays end."""
        self.controller.replayEnded.disconnect(self._on_replay_ended)

    def next_trial(self) -> bool:
        if self.index + 1 >= len(self.recording.trials):
            return False
        if not self.controller.play(self.recording.trials[self.index + 1], recording=self.recording):
            return False
        self.index += 1
        return True

    def previous_trial(self) -> bool:
        if self.index < 1:
            return False
        if not self.controller.play(self.recording.trials[self.index - 1], recording=self.recording):
            return False
        self.index -= 1
        return True

    def _on_replay_ended(self, _trial: Trial) -> None:
        if self.auto and not self.next_trial():
            self.finished.emit()


class ReplayMenu(QObject):
    """File → Save recording…, Use a recording as fallback…, Replay…: the window's record-and-replay actions."""

    bannerChanged = Signal(str)  # the REPLAY banner's text ("" when none), for presenter mode too

    def __init__(self, window: QMainWindow, menu: QMenu, controller: ReplayController, recorder: Collector) -> None:
        super().__init__(window)
        self.window = window
        self.controller = controller
        self.recorder = recorder
        self.banner = ReplayBanner(window)
        window.addToolBar(Qt.ToolBarArea.TopToolBarArea, self.banner)
        self.player: ReplayPlayer | None = None
        self.save_action = menu.addAction("Save recording…")
        self.save_action.setToolTip("Save this window's comparisons, with their timings and resource samples")
        self.save_action.triggered.connect(self.save_dialog)
        self.fallback_action = menu.addAction("Use a recording if the large side fails…")
        self.fallback_action.triggered.connect(self.fallback_dialog)
        self.replay_action = menu.addAction("Replay…")
        self.replay_action.triggered.connect(self.replay_dialog)
        for action in (self.save_action, self.fallback_action, self.replay_action):
            action.setMenuRole(QAction.MenuRole.NoRole)  # Qt's guess from the text would move them on macOS

    def _open(self, title: str) -> Recording | None:
        path, _ = QFileDialog.getOpenFileName(self.window, title, "",
                                              f"LM Scales recordings (*{SUFFIX});;JSON files (*.json);;All files (*)")
        if not path:
            return None
        try:
            return load_recording(path)
        except RecordingError as error:
            self.controller.problem.emit(str(error))
            return None

    def save_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self.window, "Save recording", f"lmscales{SUFFIX}",
                                              f"LM Scales recordings (*{SUFFIX})")
        if path:
            self.save(path)

    def save(self, path: str | Path) -> Path | None:
        try:
            saved = save_recording(self.recorder.recording(), path)
        except RecordingError as error:
            self.controller.problem.emit(str(error))
            return None
        self.controller.problem.emit(f"Recording saved: {saved.name} ({len(self.recorder.trials)} comparisons).")
        return saved

    def fallback_dialog(self) -> None:
        recording = self._open("Recording to fall back to")
        if recording is not None:
            self.controller.use_recording(recording)
            self.controller.problem.emit(f"If the large side fails, its answer can be played from {recording.banner}.")

    def replay_dialog(self) -> None:
        recording = self._open("Replay a recording")
        if recording is None:
            return
        dialog = speed_dialog(self.window)
        chosen = dialog.exec()
        speed = SPEEDS[SPEED_CHOICES.index(dialog.textValue())]
        dialog.deleteLater()
        if chosen:
            self.replay(recording, speed)

    def replay(self, recording: Recording, speed: float = 1.0, auto: bool = True) -> ReplayPlayer:
        """Replay mode: the banner over the window, then the recording's trials in turn."""
        self.banner.show_recording(recording, speed)
        self.bannerChanged.emit(self.banner.label.text())
        self.player = self.controller.play_recording(recording, speed, auto)
        return self.player


def speed_dialog(parent: QWidget | None = None) -> QInputDialog:
    """The replay speed, asked before a recording plays."""
    dialog = QInputDialog(parent)
    dialog.setWindowTitle("Replay")
    dialog.setLabelText("Speed:")
    dialog.setComboBoxItems(SPEED_CHOICES)
    dialog.setComboBoxEditable(False)
    dialog.setTextValue(SPEED_CHOICES[0])
    return dialog
