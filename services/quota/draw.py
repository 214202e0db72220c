"""The waiting room and draw of one office's released date (ADR 10).

Pure domain, no clock and no randomness: `now` and the seed are given. Its life:
`Committed` (the seed's SHA-256, before the window opens) → `Joined` (entries, in the order they
came, one event per batch) → `Drawn` (the order the seed makes, `shared.draw.draw_order`) →
`Revealed` (the seed itself). Every event names its office (the relay's partition). Cancelled entries `Left` before the draw; they stay in the draw's
input (so the audit recomputes it from every entry) and are skipped when slots are offered.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any, ClassVar
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from shared.draw import commitment, draw_order
from shared.events import derived_id


class SeedMismatch(ValueError):
    """The seed given to reveal is not the one committed (the draw key changed?): the draw waits."""


class ReleaseDraw(Aggregate):
    """Entries for one (office, date) released with a draw, their drawn order, and the seed."""

    if TYPE_CHECKING:  # the event classes that @event makes below
        Committed: ClassVar[type[Any]]
        Joined: ClassVar[type[Any]]
        Drawn: ClassVar[type[Any]]
        Revealed: ClassVar[type[Any]]
        Left: ClassVar[type[Any]]

    @staticmethod
    def id_for(office: str, day: dt.date) -> UUID:
        return derived_id("draw", office, day.isoformat())

    @classmethod
    def create_id(cls, office: str, day: dt.date, **_: Any) -> UUID:
        return cls.id_for(office, day)

    @event("Committed")
    def __init__(
        self, office: str, day: dt.date, commitment: str, opens_at: dt.datetime, closes_at: dt.datetime
    ) -> None:
        self.office, self.day, self.commitment = office, day, commitment
        self.opens_at, self.closes_at = opens_at, closes_at
        self.entries: list[dict[str, Any]] = []  # in the order they joined: the draw's input
        self.behind: list[dict[str, Any]] = []  # a second entry of a NIK or account: served after the draw
        self.booking_ids: set[str] = set()
        self.keys: set[str] = set()
        self.left: set[str] = set()
        self.order: list[str] | None = None
        self.seed: str | None = None

    @property
    def drawn(self) -> bool:
        return self.order is not None

    def holds(self, booking_id: str) -> bool:
        return booking_id in self.booking_ids

    def join(self, entries: list[dict[str, Any]], at: dt.datetime) -> list[dict[str, Any]]:
        """Let new entries in (one event); an entry whose NIK or account holds one already waits behind."""
        if self.drawn:
            return []
        fresh: list[dict[str, Any]] = []
        keys: set[str] = set()  # this batch's (the room's own are in self.keys): no copy of a big room per batch
        ids: set[str] = set()
        for entry in entries:
            booking_id = entry["booking_id"]
            if booking_id in ids or booking_id in self.booking_ids:
                continue  # a copy of a request that joined already
            ids.add(booking_id)
            duplicate = any(k in keys or k in self.keys for k in entry["keys"])
            keys.update(entry["keys"])
            fresh.append(entry | {"behind": duplicate})
        if fresh:
            self._joined(self.office, fresh, at)
        return fresh

    @event("Joined")
    def _joined(self, office: str, entries: list[dict[str, Any]], at: dt.datetime) -> None:
        for entry in entries:
            (self.behind if entry["behind"] else self.entries).append(entry)
            self.booking_ids.add(entry["booking_id"])
            self.keys.update(entry["keys"])

    def leave(self, booking_id: str, at: dt.datetime) -> bool:
        """A booking cancelled while it waited: it is offered nothing. False if it is not waiting here."""
        if self.drawn or booking_id not in self.booking_ids or booking_id in self.left:
            return False
        self._left(self.office, booking_id, at)
        return True

    @event("Left")
    def _left(self, office: str, booking_id: str, at: dt.datetime) -> None:
        self.left.add(booking_id)

    def draw(self, seed: bytes, at: dt.datetime) -> list[dict[str, Any]]:
        """Order the entries from the seed (checked against the commitment), reveal it; the offers, in order."""
        if commitment(seed) != self.commitment:
            raise SeedMismatch(f"the seed of the draw {self.office} {self.day} does not match its commitment")
        if self.drawn:
            return []
        self._drawn(self.office, draw_order([e["booking_id"] for e in self.entries], seed), at)
        self._revealed(self.office, seed.hex(), at)
        return self.offers()

    @event("Drawn")
    def _drawn(self, office: str, order: list[str], at: dt.datetime) -> None:
        self.order = order

    @event("Revealed")
    def _revealed(self, office: str, seed: str, at: dt.datetime) -> None:
        self.seed = seed

    def offers(self) -> list[dict[str, Any]]:
        """Who is offered a slot, in turn: the drawn order, then those behind; not those who left."""
        by_id = {e["booking_id"]: e for e in self.entries}
        drawn = [by_id[b] for b in self.order or ()]
        return [e for e in [*drawn, *self.behind] if e["booking_id"] not in self.left]


def entry(booking_id: str, sessions: list[str], keys: list[str], correlation_id: str, causation_id: str) -> dict:
    """One request in a waiting room: its sessions in order of preference, its keyed NIK and account ids."""
    return {
        "booking_id": booking_id,
        "sessions": sessions,
        "keys": sorted(set(keys)),
        "correlation_id": correlation_id,
        "causation_id": causation_id,
    }


def assign(offers: list[dict[str, Any]], room: dict[str, int]) -> list[tuple[dict[str, Any], str]]:
    """The session each offer is decided in: its first choice with room left, else its first choice (refused)."""
    left, placed = dict(room), []
    for offer in offers:
        sessions = offer["sessions"]
        chosen = next((s for s in sessions if left.get(s, 0) > 0), sessions[0])
        if left.get(chosen, 0) > 0:
            left[chosen] -= 1
        placed.append((offer, chosen))
    return placed
