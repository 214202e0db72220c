"""Tickets: one per confirmed booking, revoked when the booking is cancelled."""

from __future__ import annotations

import datetime as dt
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from shared.events import derived_id


class Ticket(Aggregate):
    """A signed ticket for one confirmed booking."""

    @staticmethod
    def id_for(booking_id: UUID) -> UUID:
        return derived_id("ticket", booking_id)

    @classmethod
    def create_id(cls, booking_id: UUID, **_: object) -> UUID:
        return cls.id_for(booking_id)

    @event("Issued")
    def __init__(
        self, booking_id: UUID, office: str, day: dt.date, session: str, queue_number: int,
        applicants: int, payload: str, key_id: str, expires_at: dt.datetime,
        correlation_id: str, causation_id: str,
    ) -> None:
        self.booking_id, self.office, self.day, self.session = booking_id, office, day, session
        self.queue_number, self.applicants = queue_number, applicants
        self.payload, self.key_id, self.expires_at = payload, key_id, expires_at
        self.revoked_at: dt.datetime | None = None

    def revoke(self, at: dt.datetime) -> None:
        if self.revoked_at is None:
            self._revoked(at)

    @event("Revoked")
    def _revoked(self, at: dt.datetime) -> None:
        self.revoked_at = at


def expiry(day: dt.date, timezone: dt.tzinfo) -> dt.datetime:
    """A ticket is valid until the end of its appointment day, in the office's time zone."""
    return dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0, 0), timezone).astimezone(dt.timezone.utc)
