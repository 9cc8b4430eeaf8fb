"""How the GGUF engines of a workspace run: their settings (prompt cache, adaptation to load, watchdog) and how
their thread counts are chosen, a number set by hand or the measured table by a preference (`ThreadPolicy`).
The workspace holds one `GgufThreads` and hands it each GGUF engine it builds."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, cast

from lmscales.core.engines.base import Engine

if TYPE_CHECKING:
    from lmscales.core.engines.local import LocalEngine
    from lmscales.core.settings import LocalEngineSettings
    from lmscales.core.thread_counts import ThreadPolicy, ThreadStore


def as_local(engine: Engine | None) -> LocalEngine | None:
    """`engine` if it runs a GGUF on this CPU (imported only when asked: a replay needs no llama.cpp driver)."""
    if engine is None:
        return None
    from lmscales.core.engines.local import LocalEngine

    return engine if isinstance(engine, LocalEngine) else None


class GgufThreads:
    def __init__(self, store: ThreadStore | None = None) -> None:
        self.store = store  # None: the data folder's, made when first needed
        self.policy: ThreadPolicy | None = None  # None: the threads stay as set (by hand, or by the spec)
        self.settings: LocalEngineSettings | None = None  # None: each engine keeps its defaults

    def configure(self, values: LocalEngineSettings, engines: Iterable[Engine | None]) -> None:
        """New settings into every GGUF engine of `engines` (from their next run on), and the policy."""
        from lmscales.core.thread_counts import Preference, ThreadPolicy, ThreadStore

        if self.store is None:
            self.store = ThreadStore()
        self.settings = values
        self.policy = None if values.threads else ThreadPolicy(
            self.store, cast(Preference, values.threads_preference), values.measure_threads)
        for engine in engines:
            self.configure_engine(engine)

    def configure_engine(self, engine: Engine | None) -> None:
        local, values = as_local(engine), self.settings
        if local is None or values is None:
            return
        local.reuse_prompt_cache = values.reuse_prompt_cache
        local.adapt_threads = values.adapt_threads
        local.watchdog_seconds = values.watchdog_seconds

    def will_measure(self, engine: Engine | None, again: bool = False) -> bool:
        """Whether choosing the threads of `engine` now takes a measurement (a few seconds) first."""
        local, policy = as_local(engine), self.policy
        if local is None or local.model is None or policy is None:
            return False
        return again or (policy.measure and policy.store.get(local.thread_key()) is None)

    def choose(self, engine: Engine | None, again: bool = False,
               progress: Callable[[int, int], None] | None = None) -> bool:
        """The thread counts of `engine`'s loaded model from the policy (blocking when it measures): the stored
        table, measured first when there is none and measuring is on, or `again`; with neither, the engine's
        default count. False: no policy (a count set by hand) or no model. `LoadError` when measuring fails (the
        threads stay as they were)."""
        from lmscales.core.engines.local import default_threads

        local, policy = as_local(engine), self.policy
        if local is None or local.model is None or policy is None:
            return False
        choice = local.choose_threads(policy.store, policy.preference, measure=policy.measure, again=again,
                                      progress=progress)
        if choice is None and local.thread_table is None:
            local.set_threads(default_threads())
        return True
