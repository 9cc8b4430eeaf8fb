"""The current settings, and a subscription for each part that wants to hear when some of them change.

qutebrowser's `config.change_filter` idea without Qt: a part subscribes with the settings it uses
("sampler", or "generation.max_tokens", or several) and is called only when one of those changed, so no
controller has to push every value into every widget. `SettingsStore` holds one frozen `Settings`;
`replace` swaps it for another and tells the subscribers whose paths changed.

Subscribers are called on the thread that called `replace`, in the order they subscribed, after the new
settings are in place (so `store.current` inside a callback is already the new one). One subscriber that
raises is logged and does not keep the others from hearing of the change.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from lmscales.core.settings.schema import Settings, changed

_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SettingsChange:
    """What a subscriber hears: the settings before and after, and the changed paths it subscribed to."""

    old: Settings
    new: Settings
    paths: tuple[str, ...]  # dotted leaf paths, e.g. ("sampler.rate_hz",), in schema order


Subscriber = Callable[[SettingsChange], None]


@dataclass(frozen=True, eq=False)  # compared by identity: the same callback may subscribe twice
class _Subscription:
    keys: tuple[str, ...]
    callback: Subscriber

    def wanted(self, paths: Iterable[str]) -> tuple[str, ...]:
        return tuple(path for path in paths if any(_under(path, key) for key in self.keys))


def _under(path: str, key: str) -> bool:
    """Whether the leaf `path` is the setting `key` or inside the section `key`."""
    return path == key or path.startswith(key + ".")


class SettingsStore:
    """One frozen `Settings` at a time, with change subscriptions filtered by dotted path.

    Subscribing, unsubscribing and replacing are safe from any thread; a subscriber that touches widgets must
    be called on the GUI thread, which is the UI's business (it replaces settings there).
    """

    def __init__(self, settings: Settings | None = None) -> None:
        self._current = settings if settings is not None else Settings()
        self._subscriptions: list[_Subscription] = []
        self._lock = threading.Lock()

    @property
    def current(self) -> Settings:
        return self._current

    def subscribe(self, keys: str | Iterable[str], callback: Subscriber) -> Callable[[], None]:
        """Call `callback(change)` whenever a setting under one of `keys` changes; returns an unsubscribe.

        A key is a section ("sampler") or a single setting ("generation.max_tokens"). An unknown key is a
        KeyError here, not a subscription that silently never fires.
        """
        wanted = (keys,) if isinstance(keys, str) else tuple(keys)
        if not wanted:
            raise ValueError("subscribe to at least one setting or section")
        defaults = Settings()
        for key in wanted:
            defaults.value(key)  # KeyError for a path the schema does not have
        subscription = _Subscription(wanted, callback)
        with self._lock:
            self._subscriptions.append(subscription)

        def unsubscribe() -> None:
            with self._lock:
                if subscription in self._subscriptions:
                    self._subscriptions.remove(subscription)

        return unsubscribe

    def replace(self, new: Settings) -> tuple[str, ...]:
        """Make `new` the current settings and tell the subscribers concerned; returns every changed path."""
        with self._lock:
            old, self._current = self._current, new
            subscriptions = list(self._subscriptions)
        paths = changed(old, new)
        if not paths:
            return paths
        for subscription in subscriptions:
            relevant = subscription.wanted(paths)
            if not relevant:
                continue
            try:
                subscription.callback(SettingsChange(old, new, relevant))
            except Exception:
                _log.exception("a settings subscriber failed on a change of %s", ", ".join(relevant))
        return paths
