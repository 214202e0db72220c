"""A session's refused requests, kept compact: a count, plus the recent ids idempotency needs.

A rush oversubscribed 20 times refuses 19 requests for every reservation. Keeping every refused id
forever made them most of a worker's memory and of its replay at restart. A session keeps the ids it
refused within a dedupe horizon (the time in which copies of a request arrive: its JetStream copy,
redeliveries, a relay catching up) exactly, 21 bytes each; older ones are folded into Bloom filters
(about 1.2 bytes each, no false "never refused"). A request a filter says may have been refused is
looked up in the event store, which keeps every decision: so no request is ever decided twice, however
late its copy comes (services/quota/README.md).
"""

from __future__ import annotations

import base64
import bisect
import datetime as dt
import sys
from array import array
from collections.abc import Iterator
from typing import Self

LOW = 0xFFFF_FFFF_FFFF_FFFF
RECALLED = 0x80  # a reason code's flag: found in the store again
NEVER = 2**32  # later than any second an entry holds
FILTER_BITS_PER_ID = 10  # about 1% of never-refused requests are looked up in the store for nothing
FILTER_HASHES = 7
MIN_FILTER_IDS = 64  # a session's first filter holds at least this many (80 bytes)


class Filter:
    """A Bloom filter of forgotten refused ids: "maybe refused" or surely not; sized for `room` ids."""

    __slots__ = ("bits", "held", "size")

    def __init__(self, bits: bytearray, held: int = 0) -> None:
        self.bits, self.held = bits, held
        self.size = len(bits) * 8

    @classmethod
    def sized_for(cls, ids: int) -> Filter:
        return cls(bytearray(-(-max(ids, MIN_FILTER_IDS) * FILTER_BITS_PER_ID // 8)))

    @property
    def room(self) -> int:
        return self.size // FILTER_BITS_PER_ID - self.held

    def _positions(self, key: int) -> Iterator[int]:
        low, high = key & 0xFFFF_FFFF_FFFF_FFFF, (key >> 64) | 1
        return ((low + i * high) % self.size for i in range(FILTER_HASHES))

    def add(self, key: int) -> None:
        for at in self._positions(key):
            self.bits[at >> 3] |= 1 << (at & 7)
        self.held += 1

    def __contains__(self, key: object) -> bool:
        return isinstance(key, int) and all(self.bits[at >> 3] & (1 << (at & 7)) for at in self._positions(key))


class Rejections:
    """Refused booking ids (as 128-bit ints) -> reason, for the recent ones; a count of all.

    The remembered ones are kept sorted in packed arrays (the id's two 64-bit halves, a reason code
    and the second it was decided): 21 bytes each, found by bisection (a rush asks for every request
    whether it was decided already).
    """

    __slots__ = ("_codes", "_high", "_low", "_oldest", "_reasons", "_seconds", "count", "filters")

    def __init__(self) -> None:
        self._high, self._low = array("Q"), array("Q")
        self._codes = array("B")  # index into _reasons; RECALLED set: found in the store again
        self._seconds = array("I")  # the second (since the epoch) it was decided (0: not recorded)
        self._oldest = NEVER  # the earliest of them: nothing to forget before it
        self._reasons: list[str] = []  # the reason codes' meanings (a handful: sold_out, office_closed...)
        self.count = 0  # every refusal ever, remembered or not
        # The forgotten ones: a new filter only when the last is full, each at least as big as all
        # before it, so a session has a few (their number grows with the log of its refusals).
        self.filters: list[Filter] = []

    def add(self, key: int, reason: str, decided_at: dt.datetime | None, recalled: bool = False) -> None:
        """Remember one refusal (`recalled`: one found in the store again, not counted twice)."""
        high, low = key >> 64, key & LOW
        at = bisect.bisect_right(self._high, high)
        self._high.insert(at, high)
        self._low.insert(at, low)
        self._codes.insert(at, self._code(reason) | (RECALLED if recalled else 0))
        second = _second(decided_at)
        self._seconds.insert(at, second)
        self._oldest = min(self._oldest, second)
        if not recalled:
            self.count += 1

    def _code(self, reason: str) -> int:
        try:
            return self._reasons.index(reason)
        except ValueError:
            self._reasons.append(reason)
            return len(self._reasons) - 1

    def _index(self, key: int) -> int:
        high, low = key >> 64, key & LOW
        at = bisect.bisect_left(self._high, high)
        while at < len(self._high) and self._high[at] == high:
            if self._low[at] == low:
                return at
            at += 1
        return -1

    def get(self, key: int) -> str | None:
        """The reason a remembered refusal was given, else None."""
        at = self._index(key)
        return None if at < 0 else self._reasons[self._codes[at] & ~RECALLED]

    def __contains__(self, key: object) -> bool:
        return isinstance(key, int) and self._index(key) >= 0

    def __len__(self) -> int:
        """How many refusals are remembered (see `count` for all of them)."""
        return len(self._high)

    def items(self) -> Iterator[tuple[int, str]]:
        for high, low, code in zip(self._high, self._low, self._codes, strict=True):
            yield high << 64 | low, self._reasons[code & ~RECALLED]

    def values(self) -> Iterator[str]:
        return (reason for _, reason in self.items())

    def forget(self, before: dt.datetime) -> int:
        """Fold the refusals decided before `before` into the filters; returns how many were forgotten.

        A refusal whose decision carried no time (stored before decisions had one) is folded too;
        one recalled from the store is only dropped (its id is in a filter already).
        """
        cutoff = _second(before)
        if cutoff <= self._oldest:  # the common case, asked on every decision: nothing is that old
            return 0
        old = [i for i, second in enumerate(self._seconds) if second < cutoff]
        if not old:
            return 0
        self._fold([self._high[i] << 64 | self._low[i] for i in old if not self._codes[i] & RECALLED])
        kept = [i for i, second in enumerate(self._seconds) if second >= cutoff]
        self._high = array("Q", (self._high[i] for i in kept))
        self._low = array("Q", (self._low[i] for i in kept))
        self._codes = array("B", (self._codes[i] for i in kept))
        self._seconds = array("I", (self._seconds[i] for i in kept))
        self._oldest = min(self._seconds, default=NEVER)
        return len(old)

    def _fold(self, keys: list[int]) -> None:
        """Keep forgotten ids where `may_have_forgotten` finds them: the Bloom filters."""
        if keys and (not self.filters or self.filters[-1].room < len(keys)):
            self.filters.append(Filter.sized_for(max(len(keys), sum(f.held for f in self.filters))))
        for key in keys:
            self.filters[-1].add(key)

    def may_have_forgotten(self, key: int) -> bool:
        """Whether an id not remembered may be a forgotten refusal (then the event store knows)."""
        return any(key in f for f in self.filters)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Rejections):
            return NotImplemented
        return (
            dict(self.items()) == dict(other.items())
            and self.count == other.count
            and [f.bits for f in self.filters] == [f.bits for f in other.filters]
        )

    def __repr__(self) -> str:
        return f"Rejections(count={self.count}, remembered={len(self)}, filters={len(self.filters)})"

    # Snapshots: a plain, JSON-able form (services/quota/application.py registers the transcoding).
    def to_state(self) -> dict[str, object]:
        return {
            "count": self.count,
            "filters": [[_b64(f.bits), f.held] for f in self.filters],
            "reasons": list(self._reasons),
            "ids": [_packed(self._high), _packed(self._low)],
            "codes": _packed(self._codes),
            "seconds": _packed(self._seconds),
        }

    @classmethod
    def from_state(cls, state: dict) -> Self:
        rejections = cls()
        rejections.count = state["count"]
        for bits, held in state["filters"]:
            rejections.filters.append(Filter(bytearray(base64.b64decode(bits)), held))
        rejections._reasons = list(state["reasons"])
        rejections._high = _unpacked("Q", state["ids"][0])
        rejections._low = _unpacked("Q", state["ids"][1])
        rejections._codes = _unpacked("B", state["codes"])
        rejections._seconds = _unpacked("I", state["seconds"])
        rejections._oldest = min(rejections._seconds, default=NEVER)
        if not len(rejections._high) == len(rejections._low) == len(rejections._codes) == len(rejections._seconds):
            raise ValueError("a snapshot's refusals: as many ids, codes and times expected")
        return rejections


RELEASED = "released"  # the reason a `Releases` entry carries
PRINT = 0xFFFF_FFFF  # a forgotten release's fingerprint: the id's lowest 32 bits (random in a UUID)


class Releases(Rejections):
    """Booking ids that held or waited for a place in the session and gave it up (cancelled, withdrawn by a
    closure, a lapsed offer, left or turned away from the waitlist): decided for good, a late copy of the
    request changes nothing. Kept as refusals are, a count and the recent ids exactly, but older ones as
    32-bit fingerprints, sorted (4 bytes each), not in Bloom filters: every new request to a session asks
    whether it may be a forgotten one, and a "maybe" is a read of the session's whole stored history. The
    filters' 1% per filter of false "maybe"s, in a session turning its places over all day, made that
    read a few per second; a fingerprint is wrong for about one new request in four million per thousand
    ids. Before, every released id stayed in a set for the session's life, about 100 bytes each.
    """

    __slots__ = ("_prints",)

    def __init__(self) -> None:
        super().__init__()
        self._prints = array("I")  # the forgotten ones' fingerprints (the id's lowest 32 bits), sorted

    def note(self, key: int, at: dt.datetime | None, recalled: bool = False) -> None:
        """Remember one release (`at` None: a release stored without its time, folded at the next forget)."""
        self.add(key, RELEASED, at, recalled)

    @classmethod
    def of(cls, keys: set[int]) -> Releases:
        """From the set an older snapshot holds (no times: folded at the next forget)."""
        releases = cls()
        for key in keys:
            releases.note(key, None)
        return releases

    def _fold(self, keys: list[int]) -> None:
        self._prints = array("I", sorted([*self._prints, *(key & PRINT for key in keys)]))

    def may_have_forgotten(self, key: int) -> bool:
        at = bisect.bisect_left(self._prints, key & PRINT)
        return at < len(self._prints) and self._prints[at] == key & PRINT

    def __eq__(self, other: object) -> bool:
        return super().__eq__(other) and isinstance(other, Releases) and self._prints == other._prints

    def __repr__(self) -> str:
        return f"Releases(count={self.count}, remembered={len(self)}, forgotten={len(self._prints)})"

    def to_state(self) -> dict[str, object]:
        return super().to_state() | {"prints": _packed(self._prints)}

    @classmethod
    def from_state(cls, state: dict) -> Self:
        releases = super().from_state(state)
        releases._prints = _unpacked("I", state.get("prints", ""))
        return releases


def _second(at: dt.datetime | None) -> int:
    return 0 if at is None else int(at.timestamp())


def _packed(values: array) -> str:
    """An array as base64 of its little-endian bytes."""
    if sys.byteorder == "big":
        values = array(values.typecode, values)
        values.byteswap()
    return _b64(values.tobytes())


def _unpacked(typecode: str, text: str) -> array:
    values = array(typecode, base64.b64decode(text))
    if sys.byteorder == "big":
        values.byteswap()
    return values


def _b64(data: bytes | bytearray) -> str:
    return base64.b64encode(data).decode()
