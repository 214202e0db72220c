"""The notifier application: issues signed tickets, checks them in, sweeps no-shows and reminders."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import asdict
from uuid import UUID
from zoneinfo import ZoneInfo

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from eventsourcing.application import AggregateNotFoundError
from eventsourcing.persistence import JSONTranscoder
from eventsourcing.utils import get_topic

from shared.clock import Clock
from shared.events import BookingCancelled, BookingConfirmed, DayTicket, Message, TicketView, utcnow
from shared.offices import office_by_code
from shared.runtime.store import FAST_CACHE, RecordingApplication, evict, register_date

from .admission import AdmissionPolicy, check_admission
from .claims import TicketClaims
from .domain import Ticket, expiry
from .errors import TicketNotAccepted, TicketUnknown
from .roster import OpenTicket, Roster
from .signing import TicketInvalid, key_id, sign, verify

Trusted = Callable[[], tuple[dict[str, Ed25519PublicKey], frozenset[str]]]
DESK_DAYS = 7  # past days whose desk lists the roster keeps (PASPOR_NOTIFIER_DESK_DAYS)
ISSUED = get_topic(Ticket.Issued)  # the stored topic of a ticket's first event


class TicketNotFound(LookupError):
    """No ticket (yet) for that booking."""


class NotifierApplication(RecordingApplication):
    """Tickets in one event store; signing is the only work on the hot path."""

    name = "notifier"
    env = dict(FAST_CACHE)

    def __init__(
        self,
        signing_key: Ed25519PrivateKey,
        env: dict[str, str] | None = None,
        trusted: Trusted | None = None,
        policy: AdmissionPolicy | None = None,
        desk_days: int = DESK_DAYS,
        clock: Clock = utcnow,
    ):
        super().__init__(env)
        self.signing_key = signing_key
        self.key_id = key_id(signing_key.public_key())
        self.trusted = trusted or (lambda: ({self.key_id: signing_key.public_key()}, frozenset()))
        self.policy = policy or AdmissionPolicy()
        self.desk_days = desk_days
        self.roster = Roster(kept_from=self._kept_from(clock()))  # older days are not listed while rebuilding
        self._rebuild_roster()

    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        super().register_transcodings(transcoder)
        register_date(transcoder)

    def apply_batch(self, messages: Sequence[Message], now: dt.datetime) -> None:
        """Issue tickets for confirmations and revoke them for cancellations; one save."""
        changed: dict[UUID, Ticket] = {}
        for message in messages:
            if not isinstance(message, BookingConfirmed | BookingCancelled):
                continue  # no other event changes a ticket
            ticket = changed.get(Ticket.id_for(message.booking_id)) or self._find(message.booking_id)
            if isinstance(message, BookingConfirmed) and ticket is None:
                ticket = self.issue(message)
            elif isinstance(message, BookingCancelled) and ticket is not None:
                ticket.revoke(now)
            if ticket is not None and ticket.pending_events:
                changed[ticket.id] = ticket
        self._save(*changed.values())

    def issue(self, confirmed: BookingConfirmed) -> Ticket:
        slot = confirmed.slot
        claims = TicketClaims(
            booking_id=confirmed.booking_id,
            office=slot.office,
            day=slot.date,
            session=slot.session.value,
            queue_number=confirmed.queue_number,
            applicants=confirmed.applicants,
            expires_at=expiry(slot.date, ZoneInfo(office_by_code(slot.office).timezone)),
            key_id=self.key_id,
        )
        return Ticket(
            **asdict(claims),
            payload=sign(claims, self.signing_key),
            correlation_id=str(confirmed.correlation_id),
            causation_id=str(confirmed.message_id),
        )

    def check_in(self, payload: str, officer: str, office: str, now: dt.datetime) -> Ticket:
        """Admit a ticket's holder: genuine, for this office, day and session, and still confirmed."""
        keys, revoked = self.trusted()
        try:
            claims = verify(payload, keys, now, revoked)
            check_admission(claims, office, now, self.policy)
        except TicketInvalid as invalid:
            raise TicketNotAccepted(invalid) from None
        ticket = self._find(claims.booking_id)
        if ticket is None:
            raise TicketUnknown()
        ticket.check_in(officer, now)
        self._save(ticket)
        return ticket

    def sweep_no_shows(self, now: dt.datetime) -> int:
        """Record a no-show for every open ticket whose check-in window has closed; how many.

        The sweep also forgets the desk lists of the days now past the horizon (`desk_days`).
        """
        self.roster.keep_from(self._kept_from(now))
        over = [
            t
            for t in self.roster.on_or_before(now.date() + dt.timedelta(days=1))
            if self.policy.window(t.office, t.day, t.session)[1] < now
        ]
        tickets = [self.ticket(t.booking_id) for t in over]
        for ticket in tickets:
            ticket.mark_no_show(now)
        self._save(*tickets)
        return len(tickets)

    def due_reminders(self, now: dt.datetime, send_at: dt.time) -> list[OpenTicket]:
        """Open tickets to remind: from `send_at` (office time) the day before, until the session starts."""
        today = now.date()
        candidates = self.roster.unreminded(today - dt.timedelta(days=1), today + dt.timedelta(days=2))
        return [t for t in candidates if self._reminder_due(t, now, send_at)]

    def _reminder_due(self, ticket: OpenTicket, now: dt.datetime, send_at: dt.time) -> bool:
        starts, _ = self.policy.session(ticket.office, ticket.day, ticket.session)
        return dt.datetime.combine(ticket.day - dt.timedelta(days=1), send_at, starts.tzinfo) <= now < starts

    def record_reminded(self, booking_ids: list[UUID], now: dt.datetime) -> None:
        tickets = [self.ticket(booking_id) for booking_id in booking_ids]
        for ticket in tickets:
            ticket.remind(now)
        self._save(*tickets)

    def office_day(self, office: str, day: dt.date) -> list[Ticket]:
        """Every ticket issued for an office's date, by session and queue number (the check-in desk's list).

        A date the roster keeps (the last `desk_days` days and every later one) is answered from its list
        in memory, an empty one at once. An older date is the slow path: the store's notification log is
        read for the tickets issued for it (every ticket ever issued is looked at; the tickets found are
        then loaded one by one).
        """
        booking_ids = self.roster.booked_on(office, day) if self.roster.keeps(day) else self._issued_for(office, day)
        tickets = [self.ticket(booking_id) for booking_id in booking_ids]
        return sorted(tickets, key=lambda t: (t.session, t.queue_number))

    def _issued_for(self, office: str, day: dt.date) -> list[UUID]:
        """The booking ids of the tickets issued for an office's date, as the notification log has them."""
        found, position = [], 0
        while notifications := self.recorder.select_notifications(
            start=position, limit=1000, topics=[ISSUED], inclusive_of_start=False
        ):
            for issued in map(self.mapper.to_domain_event, notifications):
                if issued.office == office and issued.day == day:  # type: ignore[attr-defined]
                    found.append(issued.booking_id)  # type: ignore[attr-defined]
            position = notifications[-1].id
        return found

    def _kept_from(self, now: dt.datetime) -> dt.date:
        """The oldest date whose desk list the roster keeps, at `now`."""
        return now.date() - dt.timedelta(days=self.desk_days)

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

    def _save(self, *tickets: Ticket) -> None:
        events = [e for ticket in tickets for e in ticket.pending_events]
        try:
            self.save(*tickets)
        except BaseException:
            evict(self, (ticket.id for ticket in tickets))  # the cached copies are ahead of the store
            raise
        self.roster.apply(events)

    def _rebuild_roster(self) -> None:
        position = 0
        while notifications := self.recorder.select_notifications(start=position, limit=1000, inclusive_of_start=False):
            self.roster.apply(self.mapper.to_domain_event(n) for n in notifications)
            position = notifications[-1].id


def ticket_view(ticket: Ticket) -> TicketView:
    return TicketView(
        booking_id=ticket.booking_id,
        slot={"office": ticket.office, "date": ticket.day, "session": ticket.session},
        queue_number=ticket.queue_number,
        payload=ticket.payload,
        key_id=ticket.key_id,
        expires_at=ticket.expires_at,
        revoked=ticket.revoked_at is not None,
    )


def day_ticket(ticket: Ticket) -> DayTicket:
    """A ticket as its office's check-in desk lists it."""
    status = "waiting"
    if ticket.checked_in is not None:
        status = "checked_in"
    elif ticket.revoked_at is not None:
        status = "cancelled"
    elif ticket.no_show_at is not None:
        status = "no_show"
    at, officer = ticket.checked_in or (None, None)
    return DayTicket(
        booking_id=ticket.booking_id,
        session=ticket.session,
        queue_number=ticket.queue_number,
        applicants=ticket.applicants,
        status=status,
        checked_in_at=at,
        officer=officer,
    )
