"""A release draw anyone can check: commit to a seed's hash, order the entries from the seed, reveal it.

Pure functions, no clock and no randomness of their own (the seed is given):

- `commitment(seed)` is the SHA-256 of the seed, in hex: recorded before the window opens.
- `draw_order(entries, seed)` orders the entries (given in the order they joined) by a Fisher–Yates
  shuffle whose random numbers come from HMAC-SHA256(seed, "paspor-draw" || counter), the counter
  an 8-byte big-endian integer starting at 0 and incremented for every 64-bit number taken (the
  first 8 bytes of each HMAC, big-endian). For i from n-1 down to 1 it swaps position i with
  j = a uniform integer in [0, i], drawn by rejection: numbers at or above the largest multiple of
  (i+1) below 2^64 are skipped, so no position is favoured.
- `verify(entries, order, seed, committed)` says what (if anything) differs.

The same entries and seed give the same order in any language that has HMAC-SHA256; see
docs/adr/0010-release-draw.md for the whole scheme.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeVar

T = TypeVar("T")
DOMAIN = b"paspor-draw"
SPACE = 1 << 64


class InvalidDrawWindow(ValueError):
    """A draw window's lengths must be zero or more, and not both zero."""


def commitment(seed: bytes) -> str:
    """The public commitment to a seed: its SHA-256, 64 hex digits."""
    return hashlib.sha256(seed).hexdigest()


class _Numbers:
    """Uniform integers from the seed: HMAC-SHA256(seed, DOMAIN || counter), 64 bits at a time."""

    def __init__(self, seed: bytes) -> None:
        self.seed, self.counter = seed, 0

    def next64(self) -> int:
        block = hmac.new(self.seed, DOMAIN + self.counter.to_bytes(8, "big"), hashlib.sha256).digest()
        self.counter += 1
        return int.from_bytes(block[:8], "big")

    def below(self, bound: int) -> int:
        """A uniform integer in [0, bound), without modulo bias."""
        limit = SPACE - SPACE % bound
        while True:
            value = self.next64()
            if value < limit:
                return value % bound


def draw_order(entries: Sequence[T], seed: bytes) -> list[T]:
    """The entries in the order the seed draws them (Fisher–Yates, from the last position down)."""
    order = list(entries)
    numbers = _Numbers(seed)
    for i in range(len(order) - 1, 0, -1):
        j = numbers.below(i + 1)
        order[i], order[j] = order[j], order[i]
    return order


def verify(entries: Sequence[str], order: Sequence[str], seed: bytes, committed: str) -> list[str]:
    """What is wrong with a recorded draw (empty: it is the draw the seed makes, and the seed was committed)."""
    wrong = []
    if not hmac.compare_digest(commitment(seed), committed):
        wrong.append(f"the seed's SHA-256 {commitment(seed)[:16]}… is not the commitment {committed[:16]}…")
    expected = draw_order(entries, seed)
    if len(expected) != len(order):
        wrong.append(f"the draw ordered {len(order)} entries, {len(expected)} joined")
    differing = [i for i, (a, b) in enumerate(zip(expected, order, strict=False)) if a != b]
    if differing:
        first = differing[0]
        wrong.append(
            f"{len(differing)} position(s) differ from the seed's draw, the first at {first + 1}: "
            f"{order[first]} where the seed puts {expected[first]}"
        )
    return wrong


@dataclass(frozen=True)
class DrawWindow:
    """Requests for a date between `before` its release and `after` it join the date's draw."""

    before: dt.timedelta = dt.timedelta(minutes=10)
    after: dt.timedelta = dt.timedelta(minutes=5)
    commit_lead: dt.timedelta = dt.timedelta(minutes=30)  # the commitment is recorded this long before it opens

    def __post_init__(self) -> None:
        if min(self.before, self.after, self.commit_lead) < dt.timedelta(0):
            raise InvalidDrawWindow("the draw window's lengths must be zero or more")
        if self.before + self.after <= dt.timedelta(0):
            raise InvalidDrawWindow("a draw window must last longer than zero (before + after)")

    def opens(self, release: dt.datetime) -> dt.datetime:
        return release - self.before

    def closes(self, release: dt.datetime) -> dt.datetime:
        return release + self.after

    def contains(self, release: dt.datetime, now: dt.datetime) -> bool:
        """Whether a request at `now` joins the draw of a date released at `release`."""
        return self.opens(release) <= now < self.closes(release)

    def commits(self, release: dt.datetime, now: dt.datetime) -> bool:
        """Whether the commitment of the draw for `release` is due at `now` (before its window opens)."""
        return self.opens(release) - self.commit_lead <= now < self.opens(release)
