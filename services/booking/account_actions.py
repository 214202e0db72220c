"""What a citizen does with their account: profile, terms and conditions, what is left to book."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from uuid import UUID

from shared.events import (
    AcceptTerms,
    BookingView,
    Caller,
    DeviceView,
    ProfileView,
    RegistrationsView,
    TermsView,
    UpdateProfile,
)

from .accounts import Account, UnknownTermsVersion
from .callers import bind, caller_in
from .devices import move_device
from .domain import Rules
from .errors import BookingError
from .identity import check_birth_date, check_email, check_kk, check_name, check_nik, normalise_phone
from .unit import Unit
from .views import booking_view, profile_view, registrations_view, terms_view
from .writer import Writer

PAGE_SIZE = 50  # bookings a page holds when the caller names no limit
HISTORY_READ = 200  # an account's events read at a time when paging its history


@dataclass(frozen=True)
class BookingsPage:
    """A page of an account's bookings, newest first, and where the next one starts (None: no more)."""

    bookings: list[BookingView]
    next_cursor: int | None


class AccountActions:
    """Account commands and queries of the booking application, written through its writer."""

    def __init__(self, writer: Writer, rules: Rules) -> None:
        self.writer = writer
        self.rules = rules

    def profile(self, caller: Caller) -> ProfileView | None:
        account, _ = caller_in(self.writer.unit(), caller)
        return profile_view(account)

    def update_profile(self, command: UpdateProfile, now: dt.datetime) -> ProfileView:
        profile = valid_profile(command, now.date())

        def act(unit: Unit) -> ProfileView:
            account, binding = caller_in(unit, command.caller)
            bind(unit, account, binding, command.caller.device_id)
            if account.profile != profile:
                account.update_profile(profile)
            view = profile_view(account)
            assert view is not None, "the profile was just set"
            return view

        return self.writer.decide(act)

    def terms(self, caller: Caller) -> TermsView:
        account, _ = caller_in(self.writer.unit(), caller)
        return terms_view(account, self.rules.terms_version)

    def accept_terms(self, caller: Caller, version: str, now: dt.datetime) -> TermsView:
        return self.writer.decide(self._accepting(caller, version, now))

    def accept_terms_all(self, commands: Sequence[AcceptTerms], now: dt.datetime) -> list[TermsView | BookingError]:
        """Many acceptances (a sign-up rush) in one save; each refusal stays its own."""
        return self.writer.decide_all([self._accepting(c.caller, c.version, now) for c in commands])

    def _accepting(self, caller: Caller, version: str, now: dt.datetime) -> Callable[[Unit], TermsView]:
        current = self.rules.terms_version

        def act(unit: Unit) -> TermsView:
            if version != current:  # before anything changes: a refusal leaves the unit as it was
                raise UnknownTermsVersion(version=version, current=current)
            account, binding = caller_in(unit, caller)
            bind(unit, account, binding, caller.device_id)
            if not account.terms or account.terms[0] != version:
                account.accept_terms(version, now)
            return terms_view(account, current)

        return act

    def move_device(self, caller: Caller, now: dt.datetime) -> DeviceView:
        """The recovery step of a new phone: the account moves to the caller's device (see `devices`)."""
        return self.writer.decide(lambda unit: move_device(unit, caller, now, self.rules))

    def registrations(self, caller: Caller, now: dt.datetime) -> RegistrationsView:
        account, _ = caller_in(self.writer.unit(), caller)
        return registrations_view(account, now, self.rules)

    def bookings(self, caller: Caller) -> list[BookingView]:
        """The caller's latest bookings (a page), newest first."""
        return self.bookings_page(caller).bookings

    def bookings_page(self, caller: Caller, limit: int = PAGE_SIZE, cursor: int | None = None) -> BookingsPage:
        """A page of the caller's bookings, newest first, and the cursor of the next page (None: the last).

        The latest few are in the account; older pages are read from its events, `cursor` being the
        version of the account's event that requested the last booking shown.
        """
        unit = self.writer.unit()
        account, _ = caller_in(unit, caller)
        if cursor is None and account.booking_count <= min(len(account.bookings), limit):
            ids, after = list(reversed(account.bookings)), None  # all of them, in memory
        else:
            ids, after = self._older(account, limit, cursor)
        return BookingsPage([booking_view(unit.existing(UUID(b)), self.rules) for b in ids], after)

    def _older(self, account: Account, limit: int, cursor: int | None) -> tuple[list[str], int | None]:
        """Up to `limit` bookings requested before the account's version `cursor`, and the next cursor."""
        store = self.writer.app.repository.event_store
        found: list[tuple[int, str]] = []
        top = account.version if cursor is None else cursor - 1
        while top > 0 and len(found) <= limit:
            events = list(store.get(account.id, lte=top, desc=True, limit=HISTORY_READ))
            found += [
                (e.originator_version, e.booking_id) for e in events if isinstance(e, Account.RegistrationStarted)
            ]
            top = events[-1].originator_version - 1 if events else 0
        page = found[:limit]
        return [b for _, b in page], (page[-1][0] if len(found) > limit else None)


def valid_profile(command: UpdateProfile, today: dt.date) -> dict[str, str]:
    """The profile's fields, checked and normalised (or the first named error)."""
    birth_date = check_birth_date(command.birth_date, today)
    return {
        "full_name": check_name(command.full_name),
        "nik": check_nik(command.nik, birth_date),
        "kk_number": check_kk(command.kk_number),
        "phone": normalise_phone(command.phone),
        "email": check_email(command.email),
        "birth_date": birth_date.isoformat(),
    }
