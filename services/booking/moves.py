"""Rescheduling once, until the day before: a saga recorded step by step on the booking itself.

`MoveRequested` (the new slot is asked of the quota of its own office, under the move's derived id, so
quota's idempotency by booking id still holds) -> `Moved` (the new slot is reserved: the booking now
holds it, and only then is the old slot released) or `MoveRefused` (the new slot was not given: the old
booking is kept intact). If the booking was cancelled or voided while the move waited, a reserved new
slot is given back: `MoveAbandoned`. Each step is one stored event that the relay turns into messages,
so the saga completes after any crash. A rescheduled booking is never moved again.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any, ClassVar
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from shared.events import derived_id

from .errors import BookingError
from .waitlist import WaitingBooking

Place = tuple[str, dt.date, str]  # office, day, session


class AlreadyRescheduled(BookingError):
    """A booking is rescheduled once."""

    code = "already_rescheduled"
    message_id = "Jadwal ini sudah pernah diubah; perubahan jadwal hanya boleh sekali."
    message_en = "This booking was rescheduled already; a booking may be rescheduled once."


class RescheduleTooLate(BookingError):
    """From the day before the appointment (office time) on, a booking can no longer be moved."""

    code = "reschedule_too_late"
    message_id = "Jadwal hanya dapat diubah paling lambat dua hari sebelum tanggal {day}."
    message_en = (
        "A booking can be rescheduled until two days before its date, {day}; from the day before, not any more."
    )


class NotReschedulable(BookingError):
    """Only a confirmed booking can be moved."""

    code = "not_reschedulable"
    message_id = "Jadwal berstatus {status} tidak dapat diubah."
    message_en = "A booking that is {status} cannot be rescheduled."


class MoveInProgress(BookingError):
    """A move to another slot waits for the quota's answer."""

    code = "reschedule_in_progress"
    message_id = "Perubahan jadwal ke {slot} sedang diproses."
    message_en = "A reschedule to {slot} is being processed."


class SameSlot(BookingError):
    """The new slot is the one held."""

    code = "same_slot"
    message_id = "Jadwal baru sama dengan jadwal yang sekarang."
    message_en = "The new slot is the one the booking already holds."


def move_id_for(booking_id: UUID, attempt: int = 1) -> UUID:
    """The id quota reserves the new slot under: one per attempt, so a refused move may be tried again
    (even in the same session) without quota taking it for a copy of the refused one."""
    return derived_id("booking", booking_id, "move", str(attempt))


class MoveLink(Aggregate):
    """Which booking a move's id belongs to: quota answers the move under that id."""

    @classmethod
    def create_id(cls, booking_id: UUID, move_id: UUID) -> UUID:
        return move_id

    @event("Linked")
    def __init__(self, booking_id: UUID, move_id: UUID) -> None:
        self.booking_id = booking_id


class MovingBooking(WaitingBooking):
    """The reschedule part of `Booking` (a base class: its events are the booking's own)."""

    if TYPE_CHECKING:  # provided by Booking
        applicants: list[dict[str, str]]
        MoveRequested: ClassVar[type[Any]]
        Moved: ClassVar[type[Any]]
        MoveRefused: ClassVar[type[Any]]
        MoveAbandoned: ClassVar[type[Any]]

    @property
    def pending_move(self) -> Place | None:
        """The slot a move waits for (None: no move is under way)."""
        return self.__dict__.get("move_to")

    @property
    def rescheduled(self) -> bool:
        return bool(self.__dict__.get("moved"))

    @property
    def move_id(self) -> UUID | None:
        """The id of its latest move (None: never asked to move)."""
        return self.__dict__.get("last_move_id")

    @property
    def holder(self) -> UUID:
        """The id quota holds this booking's slot under: its own, or its move's once moved."""
        return self.move_id if self.rescheduled and self.move_id is not None else self.id

    def check_move(self, to: Place, local_now: dt.datetime) -> None:
        """Refuse a move that may not start (nothing changes)."""
        if self.rescheduled:
            raise AlreadyRescheduled()
        if self.pending_move is not None:
            raise MoveInProgress(slot=_label(self.pending_move))
        if self.status != "confirmed":
            raise NotReschedulable(status=self.status)
        if local_now.date() >= self.day - dt.timedelta(days=1):
            raise RescheduleTooLate(day=self.day.isoformat())
        if to == (self.office, self.day, self.session):
            raise SameSlot()

    def request_move(self, to: Place, local_now: dt.datetime, at: dt.datetime) -> UUID:
        """Ask for the new slot; the old one stays held until it is given. Returns the move's id."""
        self.check_move(to, local_now)
        move_id = move_id_for(self.id, self.__dict__.get("moves_asked", 0) + 1)
        self._move_requested(
            move_id, *to, len(self.applicants), self.office, self.day, self.session, at, self.correlation_id
        )
        return move_id

    def finish_move(self, queue_number: int, at: dt.datetime, causation_id: str) -> bool:
        """The new slot was reserved: take it (or give it back if the booking ended meanwhile)."""
        to, move_id = self.pending_move, self.move_id
        if to is None or move_id is None:
            return False
        if self.status != "confirmed":
            self._move_abandoned(move_id, *to, self.status, at, self.correlation_id, causation_id)
            return True
        self._moved(
            move_id,
            self.id,
            self.office,
            self.day,
            self.session,
            *to,
            len(self.applicants),
            queue_number,
            at,
            self.correlation_id,
            causation_id,
        )
        return True

    def refuse_move(self, reason: str, at: dt.datetime, causation_id: str) -> bool:
        """The new slot was not given: the booking keeps its slot."""
        to = self.pending_move
        if to is None:
            return False
        self._move_refused(*to, reason, at, self.correlation_id, causation_id)
        return True

    @event("MoveRequested")
    def _move_requested(
        self,
        move_id: UUID,
        office: str,
        day: dt.date,
        session: str,
        applicants: int,
        from_office: str,
        from_day: dt.date,
        from_session: str,
        at: dt.datetime,
        correlation_id: str,
    ) -> None:
        self.__dict__["move_to"], self.__dict__["last_move_id"] = (office, day, session), move_id
        self.__dict__["moves_asked"] = self.__dict__.get("moves_asked", 0) + 1
        self.history.append(("confirmed", at, f"reschedule to {_label((office, day, session))} requested"))

    @event("Moved")
    def _moved(
        self,
        move_id: UUID,
        released_id: UUID,
        from_office: str,
        from_day: dt.date,
        from_session: str,
        office: str,
        day: dt.date,
        session: str,
        applicants: int,
        queue_number: int,
        at: dt.datetime,
        correlation_id: str,
        causation_id: str,
    ) -> None:
        self.office, self.day, self.session, self.queue_number = office, day, session, queue_number
        self.__dict__["move_to"], self.__dict__["moved"] = None, True
        self.history.append(
            ("confirmed", at, f"rescheduled to {_label((office, day, session))}, queue number {queue_number}")
        )

    @event("MoveRefused")
    def _move_refused(
        self,
        office: str,
        day: dt.date,
        session: str,
        reason: str,
        at: dt.datetime,
        correlation_id: str,
        causation_id: str,
    ) -> None:
        self.__dict__["move_to"] = None
        self.history.append((self.status, at, f"reschedule to {_label((office, day, session))} refused: {reason}"))

    @event("MoveAbandoned")
    def _move_abandoned(
        self,
        move_id: UUID,
        office: str,
        day: dt.date,
        session: str,
        status: str,
        at: dt.datetime,
        correlation_id: str,
        causation_id: str,
    ) -> None:
        self.__dict__["move_to"] = None
        self.history.append((self.status, at, f"reschedule to {_label((office, day, session))} given back: {status}"))


def _label(place: Place) -> str:
    office, day, session = place
    return f"{office} {day.isoformat()} {session}"
