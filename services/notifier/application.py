"""The notifier application: issues signed tickets for confirmed bookings."""

from __future__ import annotations

import datetime as dt
from uuid import UUID
from zoneinfo import ZoneInfo

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.persistence import JSONTranscoder

from shared.events import BookingCancelled, BookingConfirmed, Message, TicketView
from shared.offices import office_by_code
from shared.runtime.store import FAST_CACHE, register_date

from .domain import Ticket, expiry
from .signing import TicketClaims, key_id, sign


class TicketNotFound(LookupError):
    """No ticket (yet) for that booking."""


class NotifierApplication(Application[UUID]):
    """Tickets in one event store; signing is the only work on the hot path."""

    name = "notifier"
    env = dict(FAST_CACHE)

    def __init__(self, signing_key: Ed25519PrivateKey, env: dict[str, str] | None = None):
        super().__init__(env)
        self.signing_key = signing_key
        self.key_id = key_id(signing_key.public_key())

    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        super().register_transcodings(transcoder)
        register_date(transcoder)

    def apply_batch(self, messages: list[Message], now: dt.datetime) -> None:
        """Issue tickets for confirmations and revoke them for cancellations; one save."""
        changed: dict[UUID, Ticket] = {}
        for message in messages:
            ticket = changed.get(Ticket.id_for(message.booking_id)) or self._find(message.booking_id)
            if isinstance(message, BookingConfirmed) and ticket is None:
                ticket = self.issue(message)
            elif isinstance(message, BookingCancelled) and ticket is not None:
                ticket.revoke(now)
            if ticket is not None and ticket.pending_events:
                changed[ticket.id] = ticket
        self.save(*changed.values())

    def issue(self, confirmed: BookingConfirmed) -> Ticket:
        slot = confirmed.slot
        claims = TicketClaims(
            booking_id=confirmed.booking_id, office=slot.office, day=slot.date, session=slot.session.value,
            queue_number=confirmed.queue_number, applicants=confirmed.applicants,
            expires_at=expiry(slot.date, ZoneInfo(office_by_code(slot.office).timezone)), key_id=self.key_id,
        )
        return Ticket(
            booking_id=confirmed.booking_id, office=slot.office, day=slot.date, session=slot.session.value,
            queue_number=confirmed.queue_number, applicants=confirmed.applicants,
            payload=sign(claims, self.signing_key), key_id=self.key_id, expires_at=claims.expires_at,
            correlation_id=str(confirmed.correlation_id), causation_id=str(confirmed.message_id),
        )

    def ticket(self, booking_id: UUID) -> Ticket:
        ticket = self._find(booking_id)
        if ticket is None:
            raise TicketNotFound(booking_id)
        return ticket

    def _find(self, booking_id: UUID) -> Ticket | None:
        try:
            return self.repository.get(Ticket.id_for(booking_id))
        except AggregateNotFoundError:
            return None


def ticket_view(ticket: Ticket) -> TicketView:
    return TicketView(
        booking_id=ticket.booking_id,
        slot={"office": ticket.office, "date": ticket.day, "session": ticket.session},
        queue_number=ticket.queue_number, payload=ticket.payload, key_id=ticket.key_id,
        expires_at=ticket.expires_at, revoked=ticket.revoked_at is not None,
    )
