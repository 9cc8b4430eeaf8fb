"""Which engine judges an evaluation, decided in one place for every front end (the command line's `--judge`,
the window's Evaluate… dialog, `Workspace.judge`): the large side itself, labelled as a contestant, or a third
endpoint built through the engine factory. The small model is never the judge, whatever asks for it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Literal

from lmscales.core.engines.base import Engine
from lmscales.core.engines.factory import EndpointSpec, create_engine
from lmscales.core.quality.judge import SMALL_MODEL_REFUSED, Judge, JudgeRefused

# "large": the large side judges (and is also a contestant); an endpoint: a third model judges. "small" is
# accepted only to be refused with the reason.
JudgeKind = Literal["large", "small"] | EndpointSpec


def choose_judge(kind: JudgeKind, sides: Mapping[str, Engine | None], *, offline: bool,
                 build: Callable[[EndpointSpec], Engine] = create_engine) -> tuple[Judge, Engine | None]:
    """The judge `kind` names, over the engines of the `sides` (slot name to engine). Returns the judge and the
    engine built for it (None when a side's own engine judges): the caller closes that one when done.
    `JudgeRefused`, with a message for the user, for the small model, a large side that is not set up, an
    endpoint that is not usable, or (with `offline`) a judge beyond this computer."""
    if isinstance(kind, EndpointSpec):
        problem = kind.endpoint.problem()
        if problem:
            raise JudgeRefused(f"Judge: {problem}")
        engine = build(kind)
        try:
            return Judge.from_engine(engine, offline=offline), engine
        except BaseException:
            engine.close()
            raise
    if kind == "small":
        raise JudgeRefused(SMALL_MODEL_REFUSED)
    if kind != "large":
        raise JudgeRefused(f"There is no judge called {kind!r}: choose the large side or an endpoint.")
    large = sides.get("large")
    if large is None:
        raise JudgeRefused("The large side is not set up, so it cannot judge.")
    return Judge.from_engine(large, is_contestant=True, offline=offline), None
