"""The method card (`lmscales.core.method_card`) of single comparisons, made from their trials: what
`lmscales run --json` and the history's exports carry. Apart from the card itself because trials hold quality
checks, and the quality package's results hold a card."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence

from lmscales.core.egress import session_total, total_sentence
from lmscales.core.events import EngineInfo
from lmscales.core.method_card import MethodCard, build_method_card, concurrency_of
from lmscales.core.trial import Trial


def threads_used(trials: Iterable[Trial]) -> dict[str, list[int]]:
    """Per side, the threads each run decoded with (they follow the machine's load)."""
    used: dict[str, list[int]] = {}
    for trial in trials:
        for result in trial.sides:
            if result.finished is not None and result.finished.threads:
                used.setdefault(result.side, []).append(result.finished.threads)
    return used


_SLOT_ORDER = {"small": 0, "large": 1}


def sent_over_network(trials: Iterable[Trial], subject: str = "The comparisons") -> str | None:
    """What the trials' sides sent beyond their process, as one sentence for the card (None: none recorded it)."""
    sides = [(result.egress, result.engine is not None and result.engine.model_runs == "this_cpu", result.recorded)
             for trial in trials for result in trial.sides]
    if not any(egress is not None for egress, _, _ in sides):
        return None
    return total_sentence(session_total(sides), subject)


def card_for_trials(trials: Sequence[Trial]) -> MethodCard:
    """The card of single comparisons (`lmscales run --json`, a history export): each side and model that took
    part (the newest description of each), their parameters where all comparisons share them."""
    seen: dict[tuple[str, str, str], tuple[str, str, EngineInfo]] = {}
    for trial in trials:
        for result in trial.sides:
            if result.engine is not None:
                info = result.engine
                seen[(result.side, info.model, info.path or info.host or "")] = (result.side, result.label, info)
    params = {trial.params for trial in trials}
    most_sides = max((len([r for r in trial.sides if r.engine is not None]) for trial in trials), default=0)
    card = build_method_card(
        sorted(seen.values(), key=lambda side: _SLOT_ORDER.get(side[0], len(_SLOT_ORDER))),
        next(iter(params)) if len(params) == 1 else None, warmups=None, repeats=None,
        concurrency=concurrency_of((trial.mode for trial in trials), most_sides),
        threads_used=threads_used(trials), created=max((trial.created_at for trial in trials), default=None))
    return dataclasses.replace(card, sent=sent_over_network(trials))
