"""A session's refused requests, kept compact: a count, plus the recent ids idempotency needs.

A rush oversubscribed 20 times refuses 19 requests for every reservation. Keeping every refused id
forever made them most of a worker's memory and of its replay at restart. A session keeps the ids it
refused within a dedupe horizon (the time in which copies of a request arrive: its JetStream copy,
redeliveries, a relay catching up) exactly, 17 bytes each; older ones are folded into Bloom filters
(about 1.2 bytes each, no false "never refused"). A request a filter says may have been refused is
looked up in the event store, which keeps every decision: so no request is ever decided twice, however
late its copy comes (services/quota/README.md).
"""

from __future__ import annotations

import base64
import datetime as dt
from array import array
from collections.abc import Iterator
from dataclasses import dataclass, field

ID_BYTES = 16
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


@dataclass
class Chunk:
    """The ids refused by one decision (one stored event), packed: 16 bytes and one reason code each."""

    decided_at: dt.datetime | None  # None: an event stored before decisions carried their time
    recalled: bool = False  # found again in the store: already in a filter, dropped when forgotten again
    ids: bytearray = field(default_factory=bytearray)
    codes: array = field(default_factory=lambda: array("B"))

    def index(self, needle: bytes) -> int:
        at = self.ids.find(needle)
        while at > 0 and at % ID_BYTES:  # a match straddling two ids is not one
            at = self.ids.find(needle, at + 1)
        return -1 if at < 0 else at // ID_BYTES


class Rejections:
    """Refused booking ids (as 128-bit ints) -> reason, for the recent ones; a count of all."""

    __slots__ = ("_chunks", "_reasons", "count", "filters")

    def __init__(self) -> None:
        self._chunks: list[Chunk] = []
        self._reasons: list[str] = []  # the reason codes' meanings (a handful: sold_out, office_closed...)
        self.count = 0  # every refusal ever, remembered or not
        # The forgotten ones: a new filter only when the last is full, each at least as big as all
        # before it, so a session has a few (their number grows with the log of its refusals).
        self.filters: list[Filter] = []

    def add(self, key: int, reason: str, decided_at: dt.datetime | None, recalled: bool = False) -> None:
        """Remember one refusal, in the chunk of its decision (`recalled`: one found in the store again)."""
        last = self._chunks[-1] if self._chunks else None
        if last is None or last.decided_at != decided_at or last.recalled != recalled:
            last = Chunk(decided_at, recalled)
            self._chunks.append(last)
        last.codes.append(self._code(reason))
        last.ids += key.to_bytes(ID_BYTES, "big")
        if not recalled:
            self.count += 1

    def _code(self, reason: str) -> int:
        try:
            return self._reasons.index(reason)
        except ValueError:
            self._reasons.append(reason)
            return len(self._reasons) - 1

    def get(self, key: int) -> str | None:
        """The reason a remembered refusal was given, else None."""
        needle = key.to_bytes(ID_BYTES, "big")
        for chunk in self._chunks:
            index = chunk.index(needle)
            if index >= 0:
                return self._reasons[chunk.codes[index]]
        return None

    def __contains__(self, key: object) -> bool:
        return isinstance(key, int) and self.get(key) is not None

    def __len__(self) -> int:
        """How many refusals are remembered (see `count` for all of them)."""
        return sum(len(chunk.codes) for chunk in self._chunks)

    def items(self) -> Iterator[tuple[int, str]]:
        for chunk in self._chunks:
            for i, code in enumerate(chunk.codes):
                yield int.from_bytes(chunk.ids[i * ID_BYTES : (i + 1) * ID_BYTES], "big"), self._reasons[code]

    def values(self) -> Iterator[str]:
        return (reason for _, reason in self.items())

    def forget(self, before: dt.datetime) -> int:
        """Fold the refusals decided before `before` into the filters; returns how many were folded.

        A refusal from an event that carried no time (stored before decisions had one) is folded too;
        one recalled from the store is only dropped (its id is in a filter already).
        """
        old = [c for c in self._chunks if c.decided_at is None or c.decided_at < before]
        if not old:
            return 0
        self._chunks = [c for c in self._chunks if c.decided_at is not None and c.decided_at >= before]
        folding = [c for c in old if not c.recalled]
        n = sum(len(c.codes) for c in folding)
        if n and (not self.filters or self.filters[-1].room < n):
            self.filters.append(Filter.sized_for(max(n, sum(f.held for f in self.filters))))
        for chunk in folding:
            for i in range(0, len(chunk.ids), ID_BYTES):
                self.filters[-1].add(int.from_bytes(chunk.ids[i : i + ID_BYTES], "big"))
        return sum(len(c.codes) for c in old)

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
            "chunks": [[c.decided_at, c.recalled, _b64(c.ids), _b64(c.codes.tobytes())] for c in self._chunks],
        }

    @classmethod
    def from_state(cls, state: dict) -> Rejections:
        rejections = cls()
        rejections.count = state["count"]
        for bits, held in state["filters"]:
            rejections.filters.append(Filter(bytearray(base64.b64decode(bits)), held))
        rejections._reasons = list(state["reasons"])
        for decided_at, recalled, ids, codes in state["chunks"]:
            rejections._chunks.append(
                Chunk(decided_at, recalled, bytearray(base64.b64decode(ids)), array("B", base64.b64decode(codes)))
            )
        return rejections


def _b64(data: bytes | bytearray) -> str:
    return base64.b64encode(data).decode()
