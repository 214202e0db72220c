"""The booking application: checks the rules, records bookings and their claims atomically."""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from uuid import UUID
from zoneinfo import ZoneInfo

from eventsourcing.application import project_aggregate
from eventsourcing.persistence import JSONTranscoder

from shared.calendar import closed_because
from shared.events import BookingView, Caller, RequestBooking, Slot
from shared.offices import Office, UnknownOffice, office_by_code
from shared.pseudonyms import Pseudonyms
from shared.runtime.store import FAST_CACHE, RecordingApplication, register_date

from .account_actions import AccountActions
from .accounts import Account
from .billing import PaymentPolicy
from .callers import bind, caller_in
from .devices import check_reading_device
from .domain import Booking, NikClaim, Rules
from .errors import (
    ActiveBookingExists,
    BookingError,
    BookingNotFound,
    ConcurrentRequest,
    NikAlreadyBooked,
    NotYetReleased,
    ProfileRequired,
    UnknownOfficeCode,
)
from .identity import check_kk, check_nik
from .intake import aggregates_of, new_booking
from .moves import MoveLink
from .outcomes import OutcomeActions, free_claims
from .payments import PaymentActions
from .unit import Unit
from .views import booking_view
from .writer import Writer, refusal_or

SNAPSHOT_EVERY = 50  # the default of PASPOR_BOOKING_SNAPSHOT_INTERVAL


class BookingApplication(RecordingApplication):
    """Accounts, device bindings, NIK claims and bookings in one event store.

    Bookings are decided here; account commands live in `accounts`, other services' outcomes in
    `outcomes`; all three change state through one `writer`.
    """

    name = "booking"
    env = dict(FAST_CACHE)

    def __init__(
        self,
        pseudonyms: Pseudonyms,
        env: dict[str, str] | None = None,
        rules: Rules | None = None,
        readers: int = 1,
        snapshot_every: int = SNAPSHOT_EVERY,
        payment: PaymentPolicy | None = None,
    ):
        """`pseudonyms` keys the ids of NIK claims; `readers` > 1: a group's aggregates are read ahead in
        parallel (pays off on PostgreSQL); `snapshot_every`: an account's events between snapshots (0: none);
        `payment`: the fee and the hold of a confirmed booking (default: 2 hours, the packaged fee table)."""
        self.snapshot_every = {Account: snapshot_every} if snapshot_every else {}
        super().__init__({"IS_SNAPSHOTTING_ENABLED": "y" if snapshot_every else "n", **(env or {})})
        self.pseudonyms = pseudonyms
        self.rules = rules or Rules()
        self.writer = Writer(self)
        self.accounts = AccountActions(self.writer, self.rules)
        self.payments = PaymentActions(self.writer, self.rules, pseudonyms, payment or PaymentPolicy())
        self.outcomes = OutcomeActions(self.writer, pseudonyms, on_confirmed=self.payments.bill)
        self.readers = ThreadPoolExecutor(readers, thread_name_prefix="booking-reader") if readers > 1 else None

    def close(self) -> None:
        if self.readers:
            self.readers.shutdown()
        super().close()

    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        super().register_transcodings(transcoder)
        register_date(transcoder)

    def request_booking(self, command: RequestBooking, now: dt.datetime) -> BookingView:
        """Record one booking and its account's and NIKs' claims in one save (or return the earlier one)."""
        (result,) = self.request_bookings([command], now)
        if isinstance(result, BookingError):
            raise result
        return result

    def request_bookings(
        self, commands: Sequence[RequestBooking], now: dt.datetime
    ) -> list[BookingView | BookingError]:
        """Decide many requests in memory, in order, and save them all in one atomic save.

        A later request sees the earlier ones' changes, so a group decides exactly as one by one
        would. If another writer raced the group, each request is decided and saved alone.
        """
        unit = self.writer.unit()
        if self.readers and len(commands) > 1:
            unit.preload((i for c in commands for i in aggregates_of(c, self.pseudonyms)), self.readers)
        with self.writer.undone_on_failure(unit):
            results = [refusal_or(functools.partial(self._request, c, now, unit)) for c in commands]
        try:
            self.writer.save(*unit.changed())
        except ConcurrentRequest:
            decide = self.writer.decide
            return [refusal_or(functools.partial(decide, functools.partial(self._request, c, now))) for c in commands]
        return results

    def cancel(self, caller: Caller, booking_id: UUID, now: dt.datetime) -> BookingView:
        def act(unit: Unit) -> BookingView:
            account, _ = caller_in(unit, caller)
            booking = self._owned(unit, booking_id, account.id)
            booking.cancel(now)
            unit.add(booking, account)
            account.cancelled(str(booking.id), now, now + dt.timedelta(days=self.rules.cooldown_days))
            free_claims(unit, booking, self.pseudonyms)
            return booking_view(booking, self.rules)

        return self.writer.decide(act)

    def reschedule(self, caller: Caller, booking_id: UUID, slot: Slot, now: dt.datetime) -> BookingView:
        """Ask for a new slot for one's confirmed booking (once, until the day before; `moves.py`).

        The old slot stays held; the quota's answer moves the booking or keeps it where it is. A retry
        of the same move while it waits, or once it is done, answers the booking as it stands.
        """

        def act(unit: Unit) -> BookingView:
            account, _ = caller_in(unit, caller)
            booking = self._owned(unit, booking_id, account.id)
            to = (slot.office, slot.date, slot.session.value)
            if booking.pending_move == to or (booking.rescheduled and booking.slot == to):
                return booking_view(booking, self.rules)  # a retry
            office, held_at = (
                self._office(slot.office),
                now.astimezone(ZoneInfo(office_by_code(booking.office).timezone)),
            )
            booking.check_move(to, held_at)  # the booking's own refusals first: once, until the day before
            zone = ZoneInfo(office.timezone)
            self.rules.check_date(slot.date, now.astimezone(zone), closed_because(slot.date))
            if (closes := self.rules.draw_closes(slot.date, zone, now)) is not None:  # a move joins no release draw
                raise NotYetReleased(day=slot.date.isoformat(), retry_after=closes)
            move_id = booking.request_move(to, held_at, now)
            unit.add(booking, MoveLink(booking_id=booking.id, move_id=move_id))
            return booking_view(booking, self.rules)

        return self.writer.decide(act)

    def _request(self, command: RequestBooking, now: dt.datetime, unit: Unit) -> BookingView:
        account_id = Account.id_for(command.caller.provider, command.caller.subject)
        booking_id = Booking.id_for(account_id, command.idempotency_key)
        existing = unit.find(booking_id)
        if existing is not None:
            return booking_view(existing, self.rules)
        try:
            return self._new_booking(command, now, unit, account_id)
        except (ActiveBookingExists, NikAlreadyBooked):
            # A double tap answered by two replicas: the other may have saved this very request
            # after this one looked for it. A retry gets its booking, not a refusal.
            twin = unit.stored(booking_id)
            if twin is None:
                raise
            return booking_view(twin, self.rules)

    def _new_booking(self, command: RequestBooking, now: dt.datetime, unit: Unit, account_id: UUID) -> BookingView:
        self._check_request(command, now)
        account, binding = caller_in(unit, command.caller)
        account.check_terms(self.rules.terms_version)
        self._check_profile(account, command.kk_number)
        account.check_can_register(now, self.rules)
        claims = [
            unit.find(NikClaim.id_for(a.nik, self.pseudonyms)) or NikClaim.opened(a.nik, self.pseudonyms)
            for a in command.applicants
        ]
        for claim in claims:
            claim.check_free()
        booking = new_booking(account_id, command, now)
        bind(unit, account, binding, command.caller.device_id)
        account.start_registration(str(booking.id), now)
        for claim in claims:
            claim.claim(str(booking.id))
        unit.add(booking, account, *claims)
        return booking_view(booking, self.rules)

    def _check_request(self, command: RequestBooking, now: dt.datetime) -> None:
        """The request itself: a known office, a bookable date, valid KK and NIKs."""
        office = self._office(command.slot.office)
        day = command.slot.date
        self.rules.check_date(day, now.astimezone(ZoneInfo(office.timezone)), closed_because(day))
        check_kk(command.kk_number)
        for applicant in command.applicants:
            check_nik(applicant.nik, applicant.birth_date)

    def _check_profile(self, account: Account, kk_number: str) -> None:
        if self.rules.profile_required and not account.profile:
            raise ProfileRequired()
        account.check_family_card(kk_number)

    def booking(self, booking_id: UUID, account_id: UUID | None = None) -> Booking:
        """One booking; only its owner's when `account_id` is given."""
        return self._owned(self.writer.unit(), booking_id, account_id)

    def view(self, booking_id: UUID) -> BookingView:
        """A booking as its owner sees it (on the writer, after a save)."""
        return booking_view(self.booking(booking_id), self.rules)

    def stored_view(
        self, booking_id: UUID, account_id: UUID | None = None, device_id: str | None = None
    ) -> BookingView:
        """A booking as stored, read past the cache: safe from any thread, never ahead of a save.

        With `device_id`, only from the device the owner's account is bound to now.

        Reads do not queue behind the writer: SQLite (WAL) and PostgreSQL both serve readers while a
        save runs, and what a group is still deciding in the cache is not shown.
        """
        booking: object = project_aggregate(None, self.repository.event_store.get(booking_id))
        if not isinstance(booking, Booking) or (account_id and booking.account_id != account_id):
            raise BookingNotFound()
        if device_id is not None:
            check_reading_device(self.repository.event_store, booking.account_id, device_id)
        return booking_view(booking, self.rules)

    def _owned(self, unit: Unit, booking_id: UUID, account_id: UUID | None) -> Booking:
        booking = unit.find(booking_id)
        if not isinstance(booking, Booking) or (account_id and booking.account_id != account_id):
            raise BookingNotFound()
        return booking

    @staticmethod
    def _office(code: str) -> Office:
        try:
            return office_by_code(code)
        except UnknownOffice:
            raise UnknownOfficeCode(office=code) from None
