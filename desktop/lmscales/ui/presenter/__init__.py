"""Presenter mode: the comparison for a room, full screen, in type a back row can read (one widget a file)."""

from __future__ import annotations

from lmscales.ui.presenter.controller import Presenter

__all__ = ["Presenter"]
