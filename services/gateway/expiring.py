"""A map that forgets by age and by count: the one home of the rule for the gateway's per-process memories.

Every memory the gateway keeps per citizen (parsed device keys, proofs seen, verified tokens, idempotency
decisions, token buckets, booking allowances, outcomes) is useful only for a while. Bounded by count
alone, a steady stream of new citizens fills it to its cap; bounded by age too, it levels at what
arrives within its horizon. The count stays as a safety net for a flood.

Entries are kept in the order they were stamped (when put, and with `refresh` when read too), so
forgetting looks only at the oldest end: amortised O(1) a call, never a scan. Not thread-safe: a
caller that shares one between threads holds its own lock around each call.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

from shared.clock import now

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


def seconds() -> float:
    """The process's clock (`shared.clock.now`) in Unix seconds: the default clock of every memory."""
    return now().timestamp()


class Expiring(Generic[K, V]):
    """Entries forgotten `horizon` seconds after they were stamped, and the oldest first beyond `cap` of them."""

    def __init__(self, horizon: float, cap: int, clock: Callable[[], float] = seconds, refresh: bool = False) -> None:
        self.horizon, self.cap, self.clock, self.refresh = horizon, cap, clock, refresh
        self.entries: OrderedDict[K, tuple[float, V]] = OrderedDict()  # key -> (stamp, value), oldest first
        self.crowded_out = 0  # entries forgotten by the cap before their horizon: the cap is too small for the load

    def put(self, key: K, value: V) -> None:
        """Keep `value` for `key`, stamped now (the newest entry)."""
        at = self.clock()
        self.entries.pop(key, None)
        self.entries[key] = (at, value)
        self._forget(at)

    def get(self, key: K, default: V | None = None) -> V | None:
        """The value kept for `key` (re-stamped now, with `refresh`), or `default` when none or too old."""
        entry = self._entry(key)
        return default if entry is None else entry[1]

    def lookup(self, key: K) -> tuple[bool, V | None]:
        """Whether a value is kept for `key`, and which (one look: a value may itself be None)."""
        entry = self._entry(key)
        return (False, None) if entry is None else (True, entry[1])

    def pop(self, key: K) -> V | None:
        """Forget `key` now; its value if it was still kept."""
        entry = self._entry(key)
        self.entries.pop(key, None)
        return None if entry is None else entry[1]

    def __contains__(self, key: K) -> bool:
        return self._entry(key) is not None

    def __getitem__(self, key: K) -> V:
        entry = self._entry(key)
        if entry is None:
            raise KeyError(key)
        return entry[1]

    def __len__(self) -> int:
        self._forget(self.clock())
        return len(self.entries)

    def _entry(self, key: K) -> tuple[float, V] | None:
        at = self.clock()
        self._forget(at)
        entry = self.entries.get(key)
        if entry is None:
            return None
        if at - entry[0] >= self.horizon:  # behind a younger stamp only if the clock went back: not trusted
            del self.entries[key]
            return None
        if self.refresh:
            self.entries[key] = (at, entry[1])
            self.entries.move_to_end(key)
        return entry

    def _forget(self, at: float) -> None:
        """Drop from the oldest end what is past the horizon, then what is beyond the cap."""
        entries = self.entries
        while entries:
            stamp = next(iter(entries.values()))[0]
            if at - stamp < self.horizon:
                if len(entries) <= self.cap:
                    return
                self.crowded_out += 1
            entries.popitem(last=False)
