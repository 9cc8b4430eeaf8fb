"""The decision an evaluation exists for: which model for which task, from what volume on, at what cost to
quality and energy. Pure, Qt-free and engine-free; the report, `lmscales eval --json` and the window show it.

    from lmscales.core.decision import DecisionSettings, decide, decide_all, decision_json
    settings = DecisionSettings(volume_per_month=10_000, electricity_price_per_kwh=0.30, hardware_cost=800)
    decisions = decide_all(eval_result, settings)  # one TaskDecision per task
    decisions[0].advice.headline          # "use large" / "small is enough" / "not enough evidence yet: ..."
    decisions[0].break_even.sentence      # "At 10,000 translations a month, the small model saves ..."
    decision_json(decisions[0])           # per_acceptable_answer, acceptable, break_even, advice, ...

Modules: `settings` (the user's thresholds, volume, prices, margin), `acceptable` (the rule per task and pass
rates with Wilson intervals), `paired` (Newcombe's interval for the paired pass-rate difference, items needed),
`per_answer` (money, energy, CPU time, time per acceptable answer), `break_even`, `advice` (the rule and its
evidence), `disagreements` (items only one side got right), `decide` (the entry point and the JSON form).
"""

from lmscales.core.decision.acceptable import ItemVerdict, PassRate, definition, item_verdict
from lmscales.core.decision.advice import NOT_ENOUGH, SMALL_ENOUGH, USE_LARGE, Advice, advise
from lmscales.core.decision.break_even import BreakEven, MonthlySide
from lmscales.core.decision.decide import (
    Acceptability,
    RoutingRow,
    TaskDecision,
    decide,
    decide_all,
    decision_json,
    runs_on_this_computer,
)
from lmscales.core.decision.disagreements import Disagreement, filter_disagreements
from lmscales.core.decision.paired import PairedPassDifference, items_needed, paired_pass_difference
from lmscales.core.decision.per_answer import PerAnswerFigure, SidePerAcceptable
from lmscales.core.decision.settings import DecisionSettings

__all__ = [
    "NOT_ENOUGH", "SMALL_ENOUGH", "USE_LARGE", "Acceptability", "Advice", "BreakEven", "DecisionSettings",
    "Disagreement", "ItemVerdict", "MonthlySide", "PairedPassDifference", "PassRate", "PerAnswerFigure",
    "RoutingRow", "SidePerAcceptable", "TaskDecision", "advise", "decide", "decide_all", "decision_json",
    "definition", "filter_disagreements", "item_verdict", "items_needed", "paired_pass_difference",
    "runs_on_this_computer",
]
