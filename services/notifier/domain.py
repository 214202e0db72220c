"""Tickets: one per confirmed booking; revoked on cancellation, checked in once, or a no-show."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any, ClassVar, TypedDict
from uuid import UUID
from zoneinfo import ZoneInfo

from eventsourcing.domain import Aggregate, event

from shared.events import derived_id
from shared.offices import office_by_code

from .errors import AlreadyCheckedIn, BookingWasCancelled, MarkedNoShow


class Facts(TypedDict):
    """What the CheckedIn and NoShow events carry besides their own fields."""

    booking_id: UUID
    office: str
    day: dt.date
    session: str
    correlation_id: str


class Ticket(Aggregate):
    """A signed ticket for one confirmed booking."""

    if TYPE_CHECKING:  # the event classes that @event makes below; their fields are the methods' arguments
        Issued: ClassVar[type[Any]]
        Revoked: ClassVar[type[Any]]
        CheckedIn: ClassVar[type[Any]]
        NoShow: ClassVar[type[Any]]
        Reminded: ClassVar[type[Any]]

    @staticmethod
    def id_for(booking_id: UUID) -> UUID:
        return derived_id("ticket", booking_id)

    @classmethod
    def create_id(cls, booking_id: UUID, **_: object) -> UUID:
        return cls.id_for(booking_id)

    @event("Issued")
    def __init__(
        self,
        booking_id: UUID,
        office: str,
        day: dt.date,
        session: str,
        queue_number: int,
        applicants: int,
        payload: str,
        key_id: str,
        expires_at: dt.datetime,
        correlation_id: str,
        causation_id: str,
    ) -> None:
        self.booking_id, self.office, self.day, self.session = booking_id, office, day, session
        self.queue_number, self.applicants = queue_number, applicants
        self.payload, self.key_id, self.expires_at = payload, key_id, expires_at
        self.correlation_id = correlation_id
        self.revoked_at: dt.datetime | None = None
        self.checked_in: tuple[dt.datetime, str] | None = None  # when, by which officer
        self.no_show_at: dt.datetime | None = None
        self.reminded_at: dt.datetime | None = None

    @property
    def is_open(self) -> bool:
        """Still awaiting its holder: not cancelled, not checked in, not a no-show."""
        return self.revoked_at is None and self.checked_in is None and self.no_show_at is None

    def revoke(self, at: dt.datetime) -> None:
        if self.revoked_at is None and self.checked_in is None:
            self._revoked(at)

    @event("Revoked")
    def _revoked(self, at: dt.datetime) -> None:
        self.revoked_at = at

    def check_in(self, officer: str, at: dt.datetime) -> None:
        """Admit the holder once; a second scan, a cancelled booking or a no-show is refused."""
        if self.checked_in is not None:
            when, by = self.checked_in
            raise AlreadyCheckedIn(time=self.local(when).strftime("%H:%M"), officer=by, booking_id=self.booking_id)
        if self.revoked_at is not None:
            raise BookingWasCancelled()
        if self.no_show_at is not None:
            raise MarkedNoShow()
        self._checked_in(officer=officer, at=at, **self._facts())

    @event("CheckedIn")
    def _checked_in(
        self,
        officer: str,
        at: dt.datetime,
        booking_id: UUID,
        office: str,
        day: dt.date,
        session: str,
        correlation_id: str,
    ) -> None:
        self.checked_in = (at, officer)

    def mark_no_show(self, at: dt.datetime) -> None:
        if self.is_open:
            self._no_show(at=at, **self._facts())

    @event("NoShow")
    def _no_show(
        self, at: dt.datetime, booking_id: UUID, office: str, day: dt.date, session: str, correlation_id: str
    ) -> None:
        self.no_show_at = at

    def remind(self, at: dt.datetime) -> None:
        if self.reminded_at is None and self.is_open:
            self._reminded(at)

    @event("Reminded")
    def _reminded(self, at: dt.datetime) -> None:
        self.reminded_at = at

    def _facts(self) -> Facts:
        """What the CheckedIn and NoShow events carry so that they can go on the wire alone."""
        return {
            "booking_id": self.booking_id,
            "office": self.office,
            "day": self.day,
            "session": self.session,
            "correlation_id": self.correlation_id,
        }

    def local(self, moment: dt.datetime) -> dt.datetime:
        """A moment in the office's time zone."""
        return moment.astimezone(ZoneInfo(office_by_code(self.office).timezone))


def expiry(day: dt.date, timezone: dt.tzinfo) -> dt.datetime:
    """A ticket is valid until the end of its appointment day, in the office's time zone."""
    return dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0, 0), timezone).astimezone(dt.UTC)
