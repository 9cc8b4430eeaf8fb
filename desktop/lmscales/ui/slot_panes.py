"""What each side's pane says about the model of its slot: the card, the label, the status line, and for a
large side with nothing to run, the placeholder (or the welcome, in its place). It listens to the workspace and
to the model loaders and writes words; which model a slot holds is the workspace's to decide."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping

from PySide6.QtCore import QObject

from lmscales.core.engines.factory import EndpointSpec, EngineSpec, GgufSpec
from lmscales.core.engines.local import LoadedModel
from lmscales.core.workspace import Workspace
from lmscales.ui.model_cards import NO_ENDPOINT, local_model_card, remote_model_card, threads_text
from lmscales.ui.model_loader import ModelLoader
from lmscales.ui.side_pane import SidePane
from lmscales.ui.welcome import Welcome

log = logging.getLogger(__name__)


class SlotPanes(QObject):
    """`welcome_wanted()` says whether the settings still show the welcome (it closes for good)."""

    def __init__(self, workspace: Workspace, panes: Mapping[str, SidePane], loaders: Mapping[str, ModelLoader],
                 welcome: Welcome, welcome_wanted: Callable[[], bool], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.workspace = workspace
        self.panes = panes
        self.welcome = welcome
        self.welcome_wanted = welcome_wanted
        self._welcome_place = False  # the large side is not set up (no offline note): the welcome's place
        self.placeholder: tuple[str, str] | None = None  # the words for an empty large side (offline), if any
        for side, loader in loaders.items():
            pane = panes[side]
            loader.loaded.connect(lambda model, s=side: self.show_loaded(s, model))
            loader.progress.connect(pane.status.setText)
            loader.threadsChosen.connect(lambda model, s=side: self.show_threads(s, model))
            loader.loadFailed.connect(lambda message, s=side: self.show_load_failed(s, message))

    def show_start(self) -> None:
        self.panes["small"].model_card.setText("Loading the small model…")
        self.panes["small"].set_label(self.workspace.label("small"), "this_cpu")
        self.panes["large"].set_label(self.workspace.label("large"))

    def show_slot(self, side: str, spec: EngineSpec | None) -> None:
        """A slot's new endpoint, or none (a GGUF is shown once loaded, by `show_loaded`)."""
        if isinstance(spec, GgufSpec) or side != "large":
            return
        pane = self.panes[side]
        if isinstance(spec, EndpointSpec):
            endpoint = spec.endpoint
            pane.model_card.setText(remote_model_card(endpoint))
            pane.hide_placeholder()
            self._welcome_place = False
            pane.set_label(self.workspace.label(side), "this_computer" if endpoint.is_loopback else "remote")
            pane.status.setText(f"Ready: {endpoint.model} at {endpoint.host}.")
        elif spec is None:
            pane.model_card.setText("<i>off</i>" if self.placeholder else "<i>not set up</i>")
            message, button = self.placeholder or (NO_ENDPOINT, "Set up the large model…")
            pane.show_placeholder(message, button)
            self._welcome_place = self.placeholder is None
            pane.set_label(self.workspace.label(side))
        self.show_welcome()

    def show_welcome(self) -> None:
        shown = self._welcome_place and self.welcome_wanted()
        self.panes["large"].set_welcome(self.welcome if shown else None)

    def show_loaded(self, side: str, model: LoadedModel) -> None:
        pane = self.panes[side]
        if side == "large":
            pane.hide_placeholder()
            self._welcome_place = False
            self.show_welcome()
        pane.set_label(self.workspace.label(side), "this_cpu")
        pane.model_card.setText(local_model_card(model))
        pane.status.setText(f"Model loaded in {model.load_seconds:.2f} s.")
        log.info("%s side: model %s loaded in %.2f s", side, model.display_name, model.load_seconds)

    def show_load_failed(self, side: str, message: str) -> None:
        self.panes[side].status.setText(f"⚠ {message}")
        if self.workspace.info(side) is None:  # else the slot keeps what it ran before: its card stays
            self.panes[side].model_card.setText("<i>no model loaded</i>")

    def show_model_problem(self, message: str) -> None:
        """The small model cannot be found or verified: nothing to load."""
        self.panes["small"].status.setText(f"⚠ {message}")
        self.panes["small"].model_card.setText("<i>no model loaded</i>")

    def show_threads(self, side: str, model: LoadedModel | None) -> None:
        if model is None:
            return
        self.panes[side].model_card.setText(local_model_card(model))
        self.panes[side].status.setText(f"Threads: {threads_text(model)}.")
