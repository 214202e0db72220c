"""The waitlist of a full session and the holds it offers: events of the session's own quota aggregate.

A booking that asked to wait (`Request.waitlist`) and found the session full joins its waitlist.
When a place frees up (a cancellation, a capacity raised, a hold that lapsed) the first waiting
booking is offered a hold: a queue number reserved for it until a deadline. A hold counts against
the capacity (`SessionQuota._free_numbers`), so holds never overbook. Accepted, it becomes a
reservation; past its deadline it lapses, and the place goes to the next one waiting.

Pure domain: nothing here reads a clock. `now` is passed in; a hold lapses only when the worker,
asking its clock, records `HoldLapsed` (services/quota/holds.py), so holds survive restarts and
replay in the audit.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, ClassVar
from uuid import UUID

from eventsourcing.domain import Aggregate, event

if TYPE_CHECKING:
    from .rejections import Releases

HOLD_LAPSED = "hold_lapsed"
DEFAULT_HOLD = dt.timedelta(minutes=15)  # the default of PASPOR_QUOTA_HOLD_SECONDS
NONE: Mapping[str, Any] = MappingProxyType({})


class NoActiveHold(LookupError):
    """The booking holds no offer now: never offered, accepted already, lapsed, or past its deadline."""

    def __init__(self, booking_id: str) -> None:
        super().__init__(f"booking {booking_id} holds no active offer")
        self.booking_id = booking_id


class Waitlist(Aggregate):
    """The waitlist part of `SessionQuota` (a base class: its events are the session's own).

    Its state is made on first use: sessions and snapshots recorded before waitlists existed have none.
    Waiting entries keep their order (a dict: booking id -> correlation and causation ids).
    """

    if TYPE_CHECKING:  # provided by SessionQuota
        office: str
        day: dt.date
        session: str
        released: Releases
        reservations: Any
        Waitlisted: ClassVar[type[Any]]
        HoldOffered: ClassVar[type[Any]]
        HoldAccepted: ClassVar[type[Any]]
        HoldLapsed: ClassVar[type[Any]]
        LeftWaitlist: ClassVar[type[Any]]
        Unlisted: ClassVar[type[Any]]

        def _free_numbers(self) -> list[int]: ...

    @property
    def waiting(self) -> Mapping[str, dict[str, str]]:
        return self.__dict__.get("waiting_entries", NONE)  # a session nobody waits for keeps no dict

    @property
    def holds(self) -> Mapping[str, dict[str, Any]]:
        """Booking id -> its hold: queue number, deadline, correlation and causation ids."""
        return self.__dict__.get("held_offers", NONE)

    def _changing(self) -> tuple[dict[str, dict[str, str]], dict[str, dict[str, Any]]]:
        """The waitlist and the holds, made on the first event that changes them."""
        return self.__dict__.setdefault("waiting_entries", {}), self.__dict__.setdefault("held_offers", {})

    @property
    def held(self) -> int:
        return len(self.holds)

    def held_numbers(self) -> set[int]:
        return {hold["queue_number"] for hold in self.holds.values()}

    def is_waiting(self, booking_id: str) -> bool:
        """On the waitlist, or holding an offer."""
        return booking_id in self.waiting or booking_id in self.holds

    def join(self, entries: list[dict[str, str]], at: dt.datetime) -> None:
        """Put bookings at the end of the waitlist (each: booking_id, correlation_id, causation_id)."""
        if entries:
            self._waitlisted(self.office, self.day, self.session, entries, at)

    def offer_free(self, now: dt.datetime, hold: dt.timedelta) -> list[str]:
        """Offer each free place to the next one waiting, held until `now + hold`; the bookings offered."""
        offered: list[str] = []
        free = self._free_numbers() if self.waiting else []
        while free and self.waiting:
            booking_id, entry = next(iter(self.waiting.items()))
            number = free.pop(0)
            self._hold_offered(
                self.office, self.day, self.session, booking_id, number, now + hold, now,
                entry["correlation_id"], entry["causation_id"],
            )  # fmt: skip
            offered.append(booking_id)
        return offered

    def expire(self, now: dt.datetime) -> list[str]:
        """Lapse every hold whose deadline is reached, earliest first; the bookings that lapsed."""
        due = sorted((h["deadline"], b) for b, h in self.holds.items() if h["deadline"] <= now)
        for deadline, booking_id in due:
            hold = self.holds[booking_id]
            self._hold_lapsed(
                self.office, self.day, self.session, booking_id, hold["queue_number"], deadline, now,
                hold["correlation_id"],
            )  # fmt: skip
        return [booking_id for _, booking_id in due]

    def settle(self, now: dt.datetime, hold: dt.timedelta) -> bool:
        """Lapse what is due, then offer what is free; True if anything changed."""
        return bool(self.expire(now)) | bool(self.offer_free(now, hold))

    def next_deadline(self) -> dt.datetime | None:
        return min((h["deadline"] for h in self.holds.values()), default=None)

    def accept(self, booking_id: str, now: dt.datetime) -> int:
        """Turn an active hold into a reservation; its queue number. Raises `NoActiveHold`."""
        hold = self.holds.get(booking_id)
        if hold is None or hold["deadline"] <= now:
            raise NoActiveHold(booking_id)
        number: int = hold["queue_number"]
        self._hold_accepted(self.office, self.day, self.session, booking_id, number, now, hold["correlation_id"])
        return number

    def leave(self, booking_id: str, at: dt.datetime) -> bool:
        """A waiting or offered booking was cancelled: it leaves (a held place is free again); False if not here."""
        if not self.is_waiting(booking_id):
            return False
        self._left(self.office, self.day, self.session, booking_id, at)
        return True

    def turn_away(self, reason: str, at: dt.datetime) -> list[str]:
        """Everyone waiting or holding is refused (the session was closed); the bookings turned away."""
        entries = [{"booking_id": b, "correlation_id": e["correlation_id"]} for b, e in self.holds.items()]
        entries += [{"booking_id": b, "correlation_id": e["correlation_id"]} for b, e in self.waiting.items()]
        if entries:
            self._unlisted(self.office, self.day, self.session, entries, reason, at)
        return [e["booking_id"] for e in entries]

    @event("Waitlisted")
    def _waitlisted(self, office: str, day: dt.date, session: str, entries: list[dict[str, str]], at: dt.datetime):
        waiting, _ = self._changing()
        for entry in entries:
            waiting[entry["booking_id"]] = {
                "correlation_id": entry["correlation_id"],
                "causation_id": entry["causation_id"],
            }

    @event("HoldOffered")
    def _hold_offered(
        self,
        office: str,
        day: dt.date,
        session: str,
        booking_id: str,
        queue_number: int,
        deadline: dt.datetime,
        at: dt.datetime,
        correlation_id: str,
        causation_id: str,
    ) -> None:
        waiting, holds = self._changing()
        waiting.pop(booking_id)
        holds[booking_id] = {
            "queue_number": queue_number,
            "deadline": deadline,
            "correlation_id": correlation_id,
            "causation_id": causation_id,
        }

    @event("HoldAccepted")
    def _hold_accepted(
        self, office: str, day: dt.date, session: str, booking_id: str, queue_number: int, at: dt.datetime,
        correlation_id: str,
    ) -> None:  # fmt: skip
        del self._changing()[1][booking_id]
        self.reservations[UUID(booking_id).int] = queue_number

    @event("HoldLapsed")
    def _hold_lapsed(
        self, office: str, day: dt.date, session: str, booking_id: str, queue_number: int, deadline: dt.datetime,
        at: dt.datetime, correlation_id: str,
    ) -> None:  # fmt: skip
        del self._changing()[1][booking_id]
        self.released.note(UUID(booking_id).int, at)  # decided for good: a late copy of its request changes nothing

    @event("LeftWaitlist")
    def _left(self, office: str, day: dt.date, session: str, booking_id: str, at: dt.datetime) -> None:
        waiting, holds = self._changing()
        waiting.pop(booking_id, None)
        holds.pop(booking_id, None)
        self.released.note(UUID(booking_id).int, at)

    @event("Unlisted")
    def _unlisted(
        self, office: str, day: dt.date, session: str, entries: list[dict[str, str]], reason: str, at: dt.datetime
    ) -> None:
        waiting, holds = self._changing()
        for entry in entries:
            waiting.pop(entry["booking_id"], None)
            holds.pop(entry["booking_id"], None)
            self.released.note(UUID(entry["booking_id"]).int, at)
