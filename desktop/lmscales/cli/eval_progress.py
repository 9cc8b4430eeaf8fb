"""`lmscales eval`'s progress on stderr: a live bar in a terminal (tqdm: items done, rate, ETA and the running
score of each side), plain lines elsewhere (a pipe, a CI log, a file), which keep their `[done/total] what`
form for the scripts that read them.

tqdm is small and pure Python; where it cannot be imported the lines are used in a terminal too."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TextIO

from lmscales.core.task_trials import CHECKS_SCORE

if TYPE_CHECKING:
    from lmscales.core.evaluation import EvalProgress


def running_scores(scores: Mapping[str, Mapping[str, float]], failed: Mapping[str, int] | None = None) -> str:
    """"small chrF++ 20.8 · large chrF++ 22.2": each side's running mean of its main score (the first reference
    score, else the share of checks passed), and its failed runs if any."""
    parts = []
    for side in ("small", "large"):
        means = scores.get(side)
        if not means:
            continue
        name = next((name for name in means if name != CHECKS_SCORE), CHECKS_SCORE)
        shown = "checks" if name == CHECKS_SCORE else name
        parts.append(f"{side} {shown} {means[name]:.1f}")
    for side, count in (failed or {}).items():
        if count:
            parts.append(f"{side}: {count} failed")
    return " · ".join(parts)


class EvalProgressView:
    """Called with each `EvalProgress`; `close()` when the evaluation has ended."""

    def __init__(self, stream: TextIO, quiet: bool = False, terminal: bool | None = None) -> None:
        self.stream = stream
        self.quiet = quiet
        self.terminal = stream.isatty() if terminal is None else terminal
        self._bar: Any = None
        self._tqdm: Any = None
        if self.terminal and not quiet:
            try:
                from tqdm import tqdm
            except ImportError:  # a bundle without it: lines
                self.terminal = False
            else:
                self._tqdm = tqdm

    def __call__(self, step: EvalProgress) -> None:
        if self.quiet:
            return
        scores = running_scores(step.scores, step.failed)
        if not self.terminal:
            print(f"[{step.done}/{step.total}] {step.message}" + (f" ({scores})" if scores else ""),
                  file=self.stream, flush=True)
            return
        if self._bar is None:
            self._bar = self._tqdm(total=step.measured_total, initial=step.measured, file=self.stream, unit="item",
                                   dynamic_ncols=True, smoothing=0.1, leave=True)
        if step.measured > self._bar.n:
            self._bar.update(step.measured - self._bar.n)
        self._bar.set_description_str(step.message[:40], refresh=False)
        self._bar.set_postfix_str(scores, refresh=True)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None
