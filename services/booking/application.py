"""The booking application: checks the rules, records bookings and their claims atomically."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.persistence import IntegrityError, JSONTranscoder

from shared.events import (
    BookingStatus,
    BookingView,
    HistoryEntry,
    Message,
    RequestBooking,
    Slot,
    SlotRejected,
    SlotReserved,
)
from shared.offices import UnknownOffice, office_by_code
from shared.runtime.store import FAST_CACHE, register_date

from .domain import Account, Booking, NikClaim, Rules
from .errors import BookingNotFound, ConcurrentRequest, UnknownOfficeCode


class BookingApplication(Application[UUID]):
    """Accounts, NIK claims and bookings in one event store."""

    name = "booking"
    env = dict(FAST_CACHE)

    def __init__(self, env: dict[str, str] | None = None, rules: Rules | None = None):
        super().__init__(env)
        self.rules = rules or Rules()

    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        super().register_transcodings(transcoder)
        register_date(transcoder)

    def request_booking(self, command: RequestBooking, now: dt.datetime) -> BookingView:
        """Record a booking and its account's and NIKs' claims in one save (or return the earlier one)."""
        account_id = Account.id_for(command.caller.provider, command.caller.subject)
        existing = self._find(Booking.id_for(account_id, command.idempotency_key))
        if existing is not None:
            return view(existing)
        try:
            office_by_code(command.slot.office)
        except UnknownOffice:
            raise UnknownOfficeCode(office=command.slot.office) from None
        account = self._find(account_id) or Account(command.caller.provider, command.caller.subject)
        account.check_can_register(now, self.rules)
        claims = [self._find(NikClaim.id_for(a.nik)) or NikClaim(a.nik) for a in command.applicants]
        for claim in claims:
            claim.check_free()
        booking = new_booking(account_id, command, now)
        account.start_registration(str(booking.id), now)
        for claim in claims:
            claim.claim(str(booking.id))
        self._save(booking, account, *claims)
        return view(booking)

    def apply_outcomes(self, messages: Sequence[Message], now: dt.datetime) -> None:
        """Turn the quota service's decisions into confirmations and rejections."""
        changed: dict[UUID, object] = {}
        for message in messages:
            booking = changed.get(message.booking_id) or self._find(message.booking_id)
            if booking is None:
                continue
            if isinstance(message, SlotReserved):
                booking.confirm(message.queue_number, now, str(message.message_id))
            elif isinstance(message, SlotRejected) and booking.reject(message.reason.value, now, str(message.message_id)):
                self._give_back(booking, changed)
            changed[booking.id] = booking
        self._save(*changed.values())

    def cancel(self, provider: str, subject: str, booking_id: UUID, now: dt.datetime) -> BookingView:
        booking = self.booking(booking_id, Account.id_for(provider, subject))
        booking.cancel(now)
        account = self.repository.get(booking.account_id)
        account.cancelled(str(booking.id), now, now + dt.timedelta(days=self.rules.cooldown_days))
        claims = [self.repository.get(NikClaim.id_for(nik)) for nik in booking.niks]
        for claim in claims:
            claim.free(str(booking.id))
        self._save(booking, account, *claims)
        return view(booking)

    def booking(self, booking_id: UUID, account_id: UUID | None = None) -> Booking:
        """One booking; only its owner's when `account_id` is given."""
        booking = self._find(booking_id)
        if not isinstance(booking, Booking) or (account_id and booking.account_id != account_id):
            raise BookingNotFound()
        return booking

    def _give_back(self, booking: Booking, changed: dict[UUID, object]) -> None:
        account = changed.get(booking.account_id) or self.repository.get(booking.account_id)
        account.give_back(str(booking.id))
        changed[account.id] = account
        for nik in booking.niks:
            claim = changed.get(NikClaim.id_for(nik)) or self.repository.get(NikClaim.id_for(nik))
            claim.free(str(booking.id))
            changed[claim.id] = claim

    def _find(self, aggregate_id: UUID):  # noqa: ANN202 - any aggregate
        try:
            return self.repository.get(aggregate_id)
        except AggregateNotFoundError:
            return None

    def _save(self, *aggregates: object) -> None:
        try:
            self.save(*aggregates)
        except IntegrityError:
            self._forget(aggregates)
            raise ConcurrentRequest() from None
        except BaseException:
            self._forget(aggregates)
            raise

    def _forget(self, aggregates: Sequence[object]) -> None:
        if self.repository.cache:
            for aggregate in aggregates:
                self.repository.cache.put(aggregate.id, None)


def new_booking(account_id: UUID, command: RequestBooking, now: dt.datetime) -> Booking:
    return Booking(
        account_id=account_id,
        idempotency_key=command.idempotency_key,
        office=command.slot.office,
        day=command.slot.date,
        session=command.slot.session.value,
        kk_number=command.kk_number,
        applicants=[a.model_dump(mode="json") for a in command.applicants],
        correlation_id=str(command.correlation_id),
        at=now,
    )


def view(booking: Booking) -> BookingView:
    """A booking as its owner sees it."""
    return BookingView(
        booking_id=booking.id,
        slot=Slot(office=booking.office, date=booking.day, session=booking.session),
        status=BookingStatus(booking.status),
        applicants=len(booking.applicants),
        queue_number=booking.queue_number,
        reason=booking.reason,
        history=[HistoryEntry(status=s, at=at, detail=d) for s, at, d in booking.history],
    )
