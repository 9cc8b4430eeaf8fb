"""One task's decision from its evaluation: which answers are acceptable, what each side costs per acceptable
answer, the break-even at the user's volume, the advice (per task and per tag, with a routing table) and the
items only one side got right. `decide` is the one entry point; `decision_json` is the `--json` form."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from lmscales.core.decision.acceptable import ItemVerdict, PassRate, definition, item_verdict, pass_rate
from lmscales.core.decision.advice import NOT_ENOUGH, Advice, advise
from lmscales.core.decision.break_even import BreakEven, break_even
from lmscales.core.decision.disagreements import Disagreement, find_disagreements
from lmscales.core.decision.paired import PairedPassDifference, paired_pass_difference
from lmscales.core.decision.per_answer import SidePerAcceptable, per_acceptable_answer
from lmscales.core.decision.settings import DecisionSettings
from lmscales.core.offline import is_loopback
from lmscales.core.quality.results import SIDES, EvalResult, SideInfo, TaskResult, task_figures


@dataclass(frozen=True)
class Acceptability:
    definition: str
    small: PassRate
    large: PassRate
    difference: PairedPassDifference | None  # small - large on the items decided on both sides
    verdicts: Mapping[str, Mapping[str, ItemVerdict]]  # item id -> side -> verdict


@dataclass(frozen=True)
class RoutingRow:
    tag: str
    route: str  # "small", "large" or "undecided"
    advice: Advice


@dataclass(frozen=True)
class TaskDecision:
    task: str
    set_name: str
    acceptable: Acceptability
    per_acceptable_answer: Mapping[str, SidePerAcceptable]
    break_even: BreakEven
    advice: Advice
    routing: tuple[RoutingRow, ...]  # one row per tag of the task's items; empty when they have no tags
    routing_sentence: str | None  # "technical → large, everyday → small, news → undecided"
    disagreements: tuple[Disagreement, ...]


def _pairs(verdicts: Mapping[str, Mapping[str, ItemVerdict]], item_ids: list[str]) -> list[tuple[bool, bool]]:
    pairs = []
    for item_id in item_ids:
        small, large = verdicts[item_id]["small"].acceptable, verdicts[item_id]["large"].acceptable
        if small is not None and large is not None:
            pairs.append((small, large))
    return pairs


def _missing_side(rates: Mapping[str, PassRate]) -> str | None:
    return next((side for side in SIDES if rates[side].decided == 0), None)


def routing_sentence(rows: tuple[RoutingRow, ...]) -> str | None:
    if not rows:
        return None
    parts = []
    for row in rows:
        route = row.route
        if row.advice.kind == NOT_ENOUGH and row.advice.more_items:
            route += f" (about {row.advice.more_items} more items would tell)"
        parts.append(f"{row.tag} → {route}")
    return ", ".join(parts)


def decide(task: TaskResult, settings: DecisionSettings, *,
           on_this_computer: Mapping[str, bool] | None = None) -> TaskDecision:
    """The decision for one task. `on_this_computer` says per side whether it runs here (default: small here,
    large elsewhere), which decides who pays electricity."""
    places = {"small": True, "large": False, **(on_this_computer or {})}
    verdicts = {item.item_id: {side: item_verdict(task.task, item, side, settings) for side in SIDES}
                for item in task.items}
    rates = {side: pass_rate(side, tuple(verdicts[item.item_id][side] for item in task.items)) for side in SIDES}
    all_ids = [item.item_id for item in task.items]
    difference = paired_pass_difference(_pairs(verdicts, all_ids))
    acceptability = Acceptability(definition(task.task, settings), rates["small"], rates["large"], difference,
                                  verdicts)
    primary = task_figures(task).primary if task.items else None
    advice = advise(_pairs(verdicts, all_ids), settings, "task", _missing_side(rates))
    tags = list(dict.fromkeys(tag for item in task.items for tag in item.tags))
    rows = []
    for tag in tags:
        tagged = [item.item_id for item in task.items if tag in item.tags]
        tag_advice = advise(_pairs(verdicts, tagged), settings, tag, _missing_side(rates))
        rows.append(RoutingRow(tag, tag_advice.route, tag_advice))
    return TaskDecision(
        task=task.task, set_name=task.set_name, acceptable=acceptability,
        per_acceptable_answer=per_acceptable_answer(task, rates),
        break_even=break_even(task, settings, on_this_computer=places, rates=rates, pass_difference=difference,
                              score_difference=primary),
        advice=advice, routing=tuple(rows), routing_sentence=routing_sentence(tuple(rows)),
        disagreements=find_disagreements(task, verdicts),
    )


def runs_on_this_computer(side: SideInfo) -> bool:
    """A local model, or a server on a loopback address (its electricity is this computer's)."""
    if side.host == "this computer":
        return True
    host = side.host
    if host.startswith("["):  # [::1]:8080
        host = host[1:].split("]")[0]
    elif host.count(":") == 1:  # 127.0.0.1:8080 (a bare IPv6 address has more colons)
        host = host.split(":")[0]
    return is_loopback(host)


def decide_all(result: EvalResult, settings: DecisionSettings) -> tuple[TaskDecision, ...]:
    places = {side.slot: runs_on_this_computer(side) for side in result.sides}
    return tuple(decide(task, settings, on_this_computer=places) for task in result.tasks)


def _rate_json(rate: PassRate) -> dict[str, Any]:
    return {"passed": rate.passed, "decided": rate.decided, "undecided": rate.undecided,
            "unanswered": rate.unanswered, "rate": rate.rate,
            "wilson_95": [rate.low, rate.high] if rate.low is not None else None}


def _advice_json(advice: Advice) -> dict[str, Any]:
    return {"scope": advice.scope, "kind": advice.kind, "route": advice.route, "headline": advice.headline,
            "evidence": advice.evidence, "n_items": advice.n_items, "more_items": advice.more_items,
            "difference": dataclasses.asdict(advice.difference) if advice.difference is not None else None}


def decision_json(decision: TaskDecision) -> dict[str, Any]:
    """The decision as JSON-ready data: per_acceptable_answer, acceptable, break_even, advice (and per tag),
    routing and disagreements."""
    acceptable = decision.acceptable
    return {
        "task": decision.task,
        "set": decision.set_name,
        "per_acceptable_answer": {side: dataclasses.asdict(figures)
                                  for side, figures in decision.per_acceptable_answer.items()},
        "acceptable": {
            "definition": acceptable.definition,
            "small": _rate_json(acceptable.small), "large": _rate_json(acceptable.large),
            "difference": dataclasses.asdict(acceptable.difference) if acceptable.difference is not None else None,
        },
        "break_even": dataclasses.asdict(decision.break_even),
        "advice": _advice_json(decision.advice),
        "advice_by_tag": [_advice_json(row.advice) for row in decision.routing],
        "routing": decision.routing_sentence,
        "disagreements": [dataclasses.asdict(d) for d in decision.disagreements],
    }
