"""Quota of one office session: the only judge of "is there a slot".

Pure domain: no I/O, no clock. Which dates may be booked at all is `shared.release`'s rule
(re-exported here as `ReleaseSchedule`); the application asks it with `now` and the office.
"""

from __future__ import annotations

import datetime as dt
import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar
from uuid import UUID

from eventsourcing.domain import event

from shared.events import derived_id
from shared.release import OFFICE_CLOSED as OFFICE_CLOSED
from shared.release import ReleaseSchedule as ReleaseSchedule

from .holders import Holders
from .rejections import RELEASED, Rejections, Releases
from .waitlist import Waitlist

SOLD_OUT = "sold_out"
UNKNOWN_OFFICE = "unknown_office"


class InvalidCapacity(ValueError):
    """A capacity must be zero or more."""

    def __init__(self, capacity: int) -> None:
        super().__init__(f"capacity must be zero or more, got {capacity}")


@dataclass(frozen=True)
class Request:
    """A booking waiting for a decision."""

    booking_id: str
    correlation_id: str
    causation_id: str
    waitlist: bool = False  # a full session puts it on its waitlist instead of refusing it


class SessionQuota(Waitlist):
    """Capacity and reservations of one (office, date, session)."""

    if TYPE_CHECKING:  # the event classes that @event makes below; their fields are the methods' arguments
        Opened: ClassVar[type[Any]]
        Decided: ClassVar[type[Any]]
        Released: ClassVar[type[Any]]
        CapacityChanged: ClassVar[type[Any]]
        Closed: ClassVar[type[Any]]

    @staticmethod
    def id_for(office: str, day: dt.date, session: str) -> UUID:
        return derived_id("quota", office, day.isoformat(), session)

    @classmethod
    def create_id(cls, office: str, day: dt.date, session: str, capacity: int) -> UUID:
        return cls.id_for(office, day, session)

    @event("Opened")
    def __init__(self, office: str, day: dt.date, session: str, capacity: int) -> None:
        self.office, self.day, self.session, self.capacity = office, day, session, capacity
        self.closed = False
        # Keyed by the booking id as a 128-bit int: a worker holds every session of 90 days.
        self.reservations = Holders()
        # Refusals: a count, and the recent ids only (services/quota/rejections.py).
        self.rejections = Rejections()
        # Released ids (cancelled, withdrawn, left the waitlist), kept as compactly (rejections.py).
        self.released = Releases()

    @property
    def booked(self) -> int:
        return len(self.reservations)

    @property
    def remaining(self) -> int:
        return 0 if self.closed else max(self.capacity - self.booked - self.held, 0)

    @property
    def released(self) -> Releases:
        found = self.__dict__["released"]
        if isinstance(found, set):  # a snapshot taken before releases were kept compact: a set of ids
            found = self.__dict__["released"] = Releases.of(found)
        return found

    @released.setter
    def released(self, releases: Releases) -> None:
        self.__dict__["released"] = releases

    def has_decided(self, booking_id: str) -> bool:
        key = compact(booking_id)
        decided = key in self.reservations or key in self.rejections or key in self.released
        return decided or self.is_waiting(booking_id)

    def queue_number(self, booking_id: str) -> int | None:
        return self.reservations.get(compact(booking_id))

    def rejection(self, booking_id: str) -> str | None:
        return self.rejections.get(compact(booking_id))

    def may_have_forgotten(self, booking_id: str) -> bool:
        """An unknown request that may be a refusal this session no longer remembers (ask the store)."""
        key = compact(booking_id)
        return not self.has_decided(booking_id) and (
            self.rejections.may_have_forgotten(key) or self.released.may_have_forgotten(key)
        )

    def recall(self, booking_id: str, reason: str, now: dt.datetime) -> None:
        """Remember again a refusal or a release (`RELEASED`) found in the store (no event: it was decided
        and recorded before)."""
        if reason == RELEASED:
            self.released.note(compact(booking_id), now, recalled=True)
        else:
            self.rejections.add(compact(booking_id), sys.intern(reason), now, recalled=True)

    def forget_rejections(self, now: dt.datetime, horizon: dt.timedelta) -> int:
        """Forget the ids of refusals and releases decided more than `horizon` before `now` (their counts
        stay).

        Changes no decision: a copy of a forgotten request is found in the store (`may_have_forgotten`).
        """
        return self.rejections.forget(now - horizon) + self.released.forget(now - horizon)

    def decide(
        self, requests: list[Request], refusal: str | None = None, at: dt.datetime | None = None
    ) -> list[dict[str, Any]]:
        """Reserve or reject each undecided request, in order; one event for all of them, decided `at`."""
        decisions: list[dict[str, Any]] = []
        free = self._free_numbers()
        seen: set[str] = set()
        joining: list[dict[str, str]] = []
        for request in requests:
            if self.has_decided(request.booking_id) or request.booking_id in seen:
                continue
            seen.add(request.booking_id)
            reason = refusal or (OFFICE_CLOSED if self.closed else None)
            if reason is None and not free:
                reason = SOLD_OUT
            if reason == SOLD_OUT and request.waitlist and at is not None:
                joining.append(waiting_entry(request))
                continue
            number = None if reason else free.pop(0)
            decisions.append(decision(request, number, reason, remaining=len(free)))
        if decisions:
            self._decided(self.office, self.day, self.session, decisions, at)
        if joining and at is not None:  # (`at` is always given when a request may wait)
            self.join(joining, at)
        return decisions

    def change_capacity(self, capacity: int, by: str) -> None:
        """Set the capacity; below what is booked it refuses new bookings and drops none."""
        if capacity < 0:
            raise InvalidCapacity(capacity)
        if capacity != self.capacity:
            self._capacity_changed(self.office, self.day, self.session, capacity, by)

    def close(self, reason: str, by: str, at: dt.datetime | None = None) -> list[tuple[str, int]]:
        """Close the session (e.g. an unplanned office closure, `at`): every reservation is withdrawn."""
        if self.closed:
            return []
        withdrawn = sorted(self.reservations.items(), key=lambda item: item[1])
        self._closed(self.office, self.day, self.session, reason, by, [expand(b) for b, _ in withdrawn], at)
        return [(expand(b), n) for b, n in withdrawn]

    def release(self, booking_id: str, correlation_id: str, causation_id: str, at: dt.datetime | None = None) -> bool:
        """Give a cancelled booking's slot back (`at`: when); False if it held none."""
        if compact(booking_id) not in self.reservations:
            return False
        remaining = max(self.capacity - self.booked - self.held + 1, 0)
        self._released(self.office, self.day, self.session, booking_id, remaining, correlation_id, causation_id, at)
        return True

    @event("Decided")
    def _decided(
        self, office: str, day: dt.date, session: str, decisions: list[dict[str, Any]], at: dt.datetime | None = None
    ) -> None:
        """`at`: when decided (None in events stored before it was recorded)."""
        for d in decisions:
            if d["queue_number"] is None:
                self.rejections.add(compact(d["booking_id"]), sys.intern(d["reason"]), at)
            else:
                self.reservations[compact(d["booking_id"])] = d["queue_number"]

    @event("Released")
    def _released(
        self,
        office: str,
        day: dt.date,
        session: str,
        booking_id: str,
        remaining: int,
        correlation_id: str,
        causation_id: str,
        at: dt.datetime | None = None,  # absent from releases stored before it was recorded
    ) -> None:
        key = compact(booking_id)
        del self.reservations[key]
        self.released.note(key, at)

    @event("CapacityChanged")
    def _capacity_changed(self, office: str, day: dt.date, session: str, capacity: int, by: str) -> None:
        self.capacity = capacity

    @event("Closed")
    def _closed(
        self,
        office: str,
        day: dt.date,
        session: str,
        reason: str,
        by: str,
        withdrawn: list[str],
        at: dt.datetime | None = None,  # absent from closures stored before it was recorded
    ) -> None:
        self.closed = True
        for booking_id in withdrawn:
            key = compact(booking_id)
            del self.reservations[key]
            self.released.note(key, at)

    def _free_numbers(self) -> list[int]:
        """Queue numbers 1..capacity not held, lowest first (none while the session is full)."""
        room = self.capacity - self.booked - self.held  # a hold counts against the capacity
        if room <= 0 or self.closed:
            return []
        taken = self.reservations.numbers() | self.held_numbers()
        free = (n for n in range(1, self.capacity + len(taken) + 1) if n not in taken)
        return [next(free) for _ in range(room)]


def compact(booking_id: str) -> int:
    """A booking id (UUID text) as the int the session keys it by."""
    return UUID(booking_id).int


def expand(key: int) -> str:
    return str(UUID(int=key))


def decision(request: Request, number: int | None, reason: str | None, remaining: int) -> dict[str, Any]:
    """One request's outcome, as stored in the Decided event."""
    return {
        "booking_id": request.booking_id,
        "queue_number": number,
        "reason": reason,
        "remaining": remaining,
        "correlation_id": request.correlation_id,
        "causation_id": request.causation_id,
    }


def waiting_entry(request: Request) -> dict[str, str]:
    """A request as the waitlist keeps it."""
    return {
        "booking_id": request.booking_id,
        "correlation_id": request.correlation_id,
        "causation_id": request.causation_id,
    }
