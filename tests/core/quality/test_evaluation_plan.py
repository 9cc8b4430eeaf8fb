"""How an evaluation runs its items through the session: warm-ups first and not kept, each repeat in its own
seeded order, the side that goes first alternating, progress that ends at its total, and money and CPU per 100
items. Both sides are the fault server's plain stream on loopback, so the order is all that is tested."""

from __future__ import annotations

from lmscales.core.endpoints import Endpoint
from lmscales.core.engines.remote import RemoteEngine, RemoteOptions
from lmscales.core.evaluation import EvalPlan, EvalProgress, Evaluation
from lmscales.core.quality.sets import EvalSet, load_set
from lmscales.core.session import Session, SideStarted, TrialEnded, TrialStarted
from tests.support.fault_server import FaultServer

FAST = RemoteOptions(connect_timeout=2.0, read_timeout=5.0, max_rate_limit_retries=0)


def ran_order(evaluation: Evaluation, evaluation_set: EvalSet) -> list[str]:
    """The ids of the items in the order the evaluation ran them, read from each kept trial's input."""
    by_input = {item.input: item.id for item in evaluation_set.items}
    return [by_input[trial.input.text] for trial in evaluation.trials]


def test_repeats_are_shuffled_sides_alternate_and_progress_reaches_its_total(fault_server: FaultServer) -> None:
    session = Session({side: RemoteEngine(Endpoint(fault_server.url("ok"), f"{side}-model"), FAST)
                       for side in ("small", "large")}, is_offline=lambda: False)
    events: list[object] = []
    session.subscribe(events.append)
    progress: list[EvalProgress] = []
    chat = load_set("chat", smoke=True)
    evaluation = Evaluation(session, EvalPlan(chat, repeats=2, warmups=1), on_progress=progress.append)
    result = evaluation.run()

    firsts: dict[str, str] = {}
    for event in events:
        if isinstance(event, SideStarted):
            firsts.setdefault(event.trial_id, event.side)
    kept = [trial.id for trial in evaluation.trials]
    assert len(kept) == 2 * len(chat.items)
    assert [firsts[trial_id] for trial_id in kept] == ["small", "large"] * len(chat.items)
    started = [event.trial_id for event in events if isinstance(event, TrialStarted)]
    assert len(started) == len(kept) + 1 and started[0] not in kept  # the warm-up ran first and was not kept
    # Each trial says where it belongs in typed fields: the set, the item it ran, the repeat; the warm-up too.
    by_input = {item.input: item.id for item in chat.items}
    assert [(t.evaluation.set_name, t.evaluation.item_id, t.evaluation.repeat, t.evaluation.warmup)  # type: ignore[union-attr]
            for t in evaluation.trials] == [(chat.name, by_input[t.input.text], 1 + i // len(chat.items), False)
                                            for i, t in enumerate(evaluation.trials)]
    ended = [event.trial for event in events if isinstance(event, TrialEnded)]
    assert ended[0].evaluation is not None and ended[0].evaluation.warmup and ended[0].id == started[0]

    # The items as they ran (a chat item's input names it), one repeat after the other.
    ids = [item.id for item in chat.items]
    orders = [ran_order(evaluation, chat)[:len(ids)], ran_order(evaluation, chat)[len(ids):]]
    assert all(sorted(order) == sorted(ids) for order in orders)  # each repeat runs every item once
    # Shuffled: neither repeat in the set's own order, each in its own (the seed is fixed, so this is
    # deterministic: a shuffle of 6 items leaves them as they were once in 720 seeds, and seed 7 does not).
    assert orders[0] != ids and orders[1] != ids
    assert orders[0] != orders[1]
    again = Evaluation(Session(session.engines, is_offline=lambda: False), EvalPlan(chat, repeats=2, warmups=0))
    again.run()
    assert ran_order(again, chat) == orders[0] + orders[1]  # the same seed, the same order
    # ... and the order comes from the seed, not from a fixed rule: another seed, another order.
    other = Evaluation(Session(session.engines, is_offline=lambda: False),
                       EvalPlan(chat, repeats=1, warmups=0, seed=8))
    other.run()
    assert sorted(ran_order(other, chat)) == sorted(ids) and ran_order(other, chat) != orders[0]

    assert [p.done for p in progress] == sorted(p.done for p in progress)
    assert progress[-1].done == progress[-1].total == 1 + 2 * len(chat.items) and progress[-1].message == "done"
    costs = result.tasks[0].costs
    # servers on this computer cost $0; both sides' answers were counted, per 100 items
    assert costs["small"].cost_per_100 == 0 and costs["large"].cost_per_100 == 0
    assert result.metadata.parameters["repeats"] == "2" and result.metadata.parameters["item order seed"] == "7"
