"""The booking application: checks the rules, records bookings and their claims atomically."""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar
from uuid import UUID
from zoneinfo import ZoneInfo

from eventsourcing.application import project_aggregate
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import IntegrityError, JSONTranscoder

from shared.calendar import closed_because
from shared.events import BookingView, Caller, RequestBooking
from shared.offices import Office, UnknownOffice, office_by_code
from shared.runtime.store import FAST_CACHE, RecordingApplication, register_date

from .account_actions import AccountActions
from .accounts import Account, DeviceBinding
from .domain import Booking, NikClaim, Rules
from .errors import (
    ActiveBookingExists,
    BookingError,
    BookingNotFound,
    ConcurrentRequest,
    NikAlreadyBooked,
    ProfileRequired,
    UnknownOfficeCode,
)
from .identity import check_kk, check_nik
from .intake import aggregates_of, new_booking
from .outcomes import OutcomeActions
from .unit import Unit
from .views import booking_view

T = TypeVar("T")


class BookingApplication(AccountActions, OutcomeActions, RecordingApplication):
    """Accounts, device bindings, NIK claims and bookings in one event store."""

    name = "booking"
    env = dict(FAST_CACHE)

    def __init__(self, env: dict[str, str] | None = None, rules: Rules | None = None, readers: int = 1):
        """`readers` > 1: a group's aggregates are read ahead in parallel (pays off on PostgreSQL)."""
        super().__init__(env)
        self.rules = rules or Rules()
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
        unit = Unit(self.repository)
        if self.readers and len(commands) > 1:
            unit.preload((i for c in commands for i in aggregates_of(c)), self.readers)
        with self._undone_on_failure(unit):
            results = [self._refusal_or(functools.partial(self._request, c, now, unit)) for c in commands]
        try:
            self._save(*unit.changed())
        except ConcurrentRequest:
            return [
                self._refusal_or(functools.partial(self.decide, functools.partial(self._request, c, now)))
                for c in commands
            ]
        return results

    def cancel(self, caller: Caller, booking_id: UUID, now: dt.datetime) -> BookingView:
        def act(unit: Unit) -> BookingView:
            account, _ = self.caller(unit, caller)
            booking = self._owned(unit, booking_id, account.id)
            booking.cancel(now)
            unit.add(booking, account)
            account.cancelled(str(booking.id), now, now + dt.timedelta(days=self.rules.cooldown_days))
            self._freed_claims(unit, booking)
            return booking_view(booking, self.rules)

        return self.decide(act)

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
        account, binding = self.caller(unit, command.caller)
        account.check_terms(self.rules.terms_version)
        self._check_profile(account, command.kk_number)
        account.check_can_register(now, self.rules)
        claims = [unit.find(NikClaim.id_for(a.nik)) or NikClaim(a.nik) for a in command.applicants]
        for claim in claims:
            claim.check_free()
        booking = new_booking(account_id, command, now)
        self.bind(unit, account, binding, command.caller.device_id)
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
        return self._owned(Unit(self.repository), booking_id, account_id)

    def view(self, booking_id: UUID) -> BookingView:
        """A booking as its owner sees it (on the writer, after a save)."""
        return booking_view(self.booking(booking_id), self.rules)

    def stored_view(self, booking_id: UUID, account_id: UUID | None = None) -> BookingView:
        """A booking as stored, read past the cache: safe from any thread, never ahead of a save.

        Reads do not queue behind the writer: SQLite (WAL) and PostgreSQL both serve readers while a
        save runs, and what a group is still deciding in the cache is not shown.
        """
        booking: object = project_aggregate(None, self.repository.event_store.get(booking_id))
        if not isinstance(booking, Booking) or (account_id and booking.account_id != account_id):
            raise BookingNotFound()
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

    def caller(self, unit: Unit, caller: Caller) -> tuple[Account, DeviceBinding]:
        """The caller's account and device binding (new ones if none yet), checked against each other."""
        account_id = Account.id_for(caller.provider, caller.subject)
        account = unit.find(account_id) or Account(caller.provider, caller.subject)
        binding = unit.find(DeviceBinding.id_for(caller.device_id)) or DeviceBinding(caller.device_id, account_id)
        binding.check_account(account_id)
        account.check_device(caller.device_id)
        return account, binding

    @staticmethod
    def bind(unit: Unit, account: Account, binding: DeviceBinding, device_id: str) -> None:
        """Bind the device and the account to each other (once), with the change being saved."""
        if account.device_id is None:
            account.bind_device(device_id)
        unit.add(account, binding)

    def decide(self, action: Callable[[Unit], T]) -> T:
        """Act in a fresh unit and save it; a lost race reloads and decides again, once."""
        for attempt in (1, 2):
            unit = Unit(self.repository)
            with self._undone_on_failure(unit):
                result = action(unit)
            try:
                self._save(*unit.changed())
                return result
            except ConcurrentRequest:
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def decide_all(self, actions: Sequence[Callable[[Unit], T]]) -> list[T | BookingError]:
        """Independent actions in one unit and one save; each refusal stays its own (a group commit).

        An action checks before it changes anything, so a refused one leaves the unit as it was. If
        another writer raced the group, each action is decided and saved alone.
        """
        unit = Unit(self.repository)
        with self._undone_on_failure(unit):
            results = [self._refusal_or(functools.partial(action, unit)) for action in actions]
        try:
            self._save(*unit.changed())
        except ConcurrentRequest:
            return [self._refusal_or(functools.partial(self.decide, action)) for action in actions]
        return results

    @staticmethod
    def _refusal_or(attempt: Callable[[], T]) -> T | BookingError:
        try:
            return attempt()
        except BookingError as error:
            return error

    @contextlib.contextmanager
    def _undone_on_failure(self, unit: Unit) -> Iterator[None]:
        """A decision that failed half-way leaves nothing changed in the cache either."""
        try:
            yield
        except BaseException:
            self._forget(list(unit.changed()))
            raise

    def _save(self, *aggregates: Aggregate) -> None:
        if not any(aggregate.pending_events for aggregate in aggregates):
            return  # e.g. outcomes recorded already on the fast path, met again through JetStream
        try:
            self.save(*aggregates)
        except IntegrityError:
            self._forget(aggregates)
            raise ConcurrentRequest() from None
        except BaseException:
            self._forget(aggregates)
            raise

    def _forget(self, aggregates: Sequence[Aggregate]) -> None:
        """Drop from the cache what a failed save left ahead of the store (reloaded on next use)."""
        if self.repository.cache:
            for aggregate in aggregates:
                with contextlib.suppress(KeyError):
                    self.repository.cache.get(aggregate.id, evict=True)
