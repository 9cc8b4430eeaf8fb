"""`lmscales eval`'s progress on stderr: a live bar in a terminal (tqdm: items done, rate, ETA and the running
score of each side), plain lines elsewhere (a pipe, a CI log, a file), which keep their `[done/total] what`
form for the scripts that read them.

tqdm is small and pure Python; where it cannot be imported the lines are used in a terminal too."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TextIO

from lmscales.core.decision.running import running_scores

if TYPE_CHECKING:
    from lmscales.core.evaluation import EvalProgress


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
