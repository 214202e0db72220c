"""Booking budgets per window, and the share of one that this replica holds (no I/O: the counter is given).

A budget allows `limit` booking attempts per key (an account, a client address) per window of `window`
seconds, windows aligned on the clock so that every replica agrees which one it is. The whole fleet
counts against one counter per key and window; a replica takes allowance from it in leases of a few
attempts at a time and spends them locally, so most attempts cost no round trip to the counter. A lease
is counted when it is taken: the fleet never admits more than the budget, and at most `lease - 1`
attempts per replica and key stay unspent when the window ends (ADR 0013).

What a replica holds for a key is useful only in the window it was taken in: it is forgotten a window
after it was last written (and the least recently written first beyond the count).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from .expiring import Expiring


@dataclass(frozen=True)
class Budget:
    """`limit` attempts per key per `window` seconds, taken from the shared counter `lease` at a time at most."""

    kind: str  # "account" or "address": the word in the refusal and the prefix of the counter's key
    limit: int
    window: float
    lease: int = 20

    def lease_size(self, counted: int, waiting: int = 1) -> int:
        """How many attempts to take from a counter that shows `counted` taken by the fleet in this window,
        for `waiting` attempts in this replica that wait for the lease.

        At most a tenth of the budget at once, so that a key whose attempts alternate between replicas
        leaves little unspent in the replicas it left, unless more attempts wait (a busy address): each of
        them gets one, so that a hot key costs one round trip per burst, not one per lease; never more
        than what is left.
        """
        usual = min(self.lease, max(1, self.limit // 10))
        return max(0, min(max(usual, waiting), self.limit - counted))


@dataclass
class Held:
    """This replica's lease on one key in one window, and the counter as it last saw it."""

    window: int
    left: int = 0  # attempts leased and not spent yet
    counted: int = 0  # the fleet's attempts in this window, as of this replica's last lease
    revision: int = 0  # the counter's revision then (0: not seen)
    busy: int = 0  # the last lease's size when it was taken for several attempts at once (0: not busy)


class Allowance:
    """The leases one replica holds for one budget, key by key (forgotten a window after their last lease)."""

    def __init__(self, budget: Budget, clock: Callable[[], float], keys: int = 100_000) -> None:
        self.budget, self.clock = budget, clock
        self.held: Expiring[str, Held] = Expiring(
            budget.window, keys, clock
        )  # taken at t: its window ends by t + window

    def window(self) -> int:
        """The current window's number (the same on every replica whose clock agrees)."""
        return math.floor(self.clock() / self.budget.window)

    def retry_after(self) -> float:
        """Seconds until the next window, when a spent budget is whole again."""
        return (self.window() + 1) * self.budget.window - self.clock()

    def take(self, key: str) -> bool | None:
        """Spend one attempt: True when the lease held one, False when the fleet spent the budget, None
        when a lease must be taken first."""
        held = self.seen(key)
        if held is None:
            return None
        if held.left > 0:
            held.left -= 1
            return True
        return False if held.counted >= self.budget.limit else None

    def running_low(self, key: str) -> int:
        """For a busy key whose lease is half spent: the size of the lease to take ahead (else 0).

        Only while that lease is at most a tenth of what is left of the budget (a busy address, not a
        bot's account near its budget: what a lease ahead leaves unspent stays small)."""
        held = self.held.get(key)
        if held is None or not held.busy or held.left > held.busy // 2:
            return 0
        return held.busy if held.busy * 10 <= self.budget.limit - held.counted else 0

    def seen(self, key: str) -> Held | None:
        """What this replica holds for `key` in the current window (None: nothing yet)."""
        held = self.held.get(key)
        if held is None or held.window != self.window():
            return None
        return held

    def granted(self, key: str, window: int, leased: int, counted: int, revision: int, busy: bool = False) -> None:
        """A lease was taken for `key` in `window` (`leased` may be 0: the counter showed the budget spent);
        `busy`: for several attempts at once (the next lease is then taken before this one runs out)."""
        held = self.held.get(key)
        if held is None or held.window != window:
            held = Held(window)
        held.left += leased
        held.counted, held.revision = max(held.counted, counted), revision
        held.busy = leased if busy else 0
        self.held.put(key, held)


class LocalCounter:
    """A counter in this replica's memory: its own budgets alone (shared admission off, or the bucket down).

    A count is forgotten `horizon` seconds (the longest budget's window) after it was last added to.
    """

    def __init__(self, horizon: float, clock: Callable[[], float], keys: int = 200_000) -> None:
        self.counts: Expiring[str, tuple[int, int]] = Expiring(horizon, keys, clock)  # key -> (window, leased)

    def add(self, key: str, window: int, size: Callable[[int], int]) -> tuple[int, int]:
        """Lease `size(counted)` attempts of `key` in `window`: (leased, counted after)."""
        held_window, counted = self.counts.get(key) or (window, 0)
        if held_window != window:
            counted = 0
        leased = size(counted)
        self.counts.put(key, (window, counted + leased))
        return leased, counted + leased
