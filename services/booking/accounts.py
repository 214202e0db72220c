"""Accounts and device bindings: who may book, from which device, under which terms. Pure."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from shared.events import derived_id
from shared.privacy import mask_number

from .domain import Rules
from .errors import (
    ActiveBookingExists,
    BookingError,
    CooldownActive,
    KkMismatch,
    RegistrationLimitReached,
    SpacingNotElapsed,
)


class DeviceBoundToOtherAccount(BookingError):
    """The device already belongs to another account (one account per device, even after re-install)."""

    code = "device_bound_to_other_account"
    message_id = "Perangkat ini sudah terikat pada akun lain; masuk dengan akun itu atau gunakan perangkat lain."
    message_en = "This device is bound to another account; sign in with that account or use another device."


class AccountBoundToOtherDevice(BookingError):
    """The account is already bound to another device (one device per account)."""

    code = "account_bound_to_other_device"
    message_id = "Akun ini sudah terikat pada perangkat lain; gunakan perangkat itu."
    message_en = "This account is bound to another device; use that device."


class DeviceMoveTooSoon(BookingError):
    """The account moved to a new device too recently."""

    code = "device_move_too_soon"
    message_id = "Akun ini baru saja dipindahkan ke perangkat lain; coba lagi setelah {retry_after}."
    message_en = "This account moved to a new device recently; try again after {retry_after}."


class TermsNotAccepted(BookingError):
    """The current terms and conditions were not accepted yet."""

    code = "terms_not_accepted"
    message_id = "Setujui dulu syarat dan ketentuan versi {version}, lalu coba lagi."
    message_en = "Accept the terms and conditions, version {version}, then try again."


class UnknownTermsVersion(BookingError):
    """Accepting a version of the terms that is not the current one."""

    code = "unknown_terms_version"
    message_id = (
        "Versi syarat dan ketentuan {version} bukan versi yang berlaku ({current}); muat ulang dan setujui lagi."
    )
    message_en = "Terms version {version} is not the current one ({current}); reload and accept again."


@dataclass(frozen=True)
class Registrations:
    """What an account may still do: registrations left and the earliest next one."""

    used: int
    left: int
    next_allowed_at: dt.datetime | None
    cooldown_until: dt.datetime | None
    active_booking: str | None


class DeviceBinding(Aggregate):
    """The one account a device belongs to (its id is derived from the device id: unique by the store)."""

    @staticmethod
    def id_for(device_id: str) -> UUID:
        return derived_id("device", device_id)

    @classmethod
    def create_id(cls, device_id: str, account_id: UUID) -> UUID:
        return cls.id_for(device_id)

    @event("Bound")
    def __init__(self, device_id: str, account_id: UUID) -> None:
        self.account_id = account_id
        self.revoked = False  # the account moved to another device: this one stays its, but reads nothing

    def check_account(self, account_id: UUID) -> None:
        if self.account_id != account_id:
            raise DeviceBoundToOtherAccount()

    def check_reads_for(self, account_id: UUID) -> None:
        """This device may read the account's data: it is that account's, and still its current device."""
        self.check_account(account_id)
        if getattr(self, "revoked", False):
            raise AccountBoundToOtherDevice()

    @event("Revoked")
    def revoke(self, at: dt.datetime) -> None:
        self.revoked = True

    @event("Reinstated")
    def reinstate(self, at: dt.datetime) -> None:
        """The account moved back to this device (a phone found again)."""
        self.revoked = False


RECENT_BOOKINGS = 5  # booking ids an account keeps; the rest of its history is read from its events, a page at a time


class Account(Aggregate):
    """A citizen's account, known by its external identity.

    Its state stays small however often its requests are refused: the rules need only the counted
    registrations (at most the limit), the active booking and the cooldown. Of the bookings it keeps
    a count and the latest few; its whole history is in its `RegistrationStarted` events.
    """

    if TYPE_CHECKING:  # the event class that @event makes below (its fields are the method's arguments)
        RegistrationStarted: ClassVar[type[Any]]

    @staticmethod
    def id_for(provider: str, subject: str) -> UUID:
        return derived_id("account", provider, subject)

    @classmethod
    def create_id(cls, provider: str, subject: str) -> UUID:
        return cls.id_for(provider, subject)

    @event("Registered")
    def __init__(self, provider: str, subject: str) -> None:
        self.provider, self.subject = provider, subject
        self.registrations: dict[str, dt.datetime] = {}  # counted registrations: booking -> when
        self.bookings: list[str] = []  # the latest bookings requested (at most RECENT_BOOKINGS), oldest first
        self.booking_count = 0  # every booking ever requested
        self.active_booking: str | None = None
        self.cooldown_until: dt.datetime | None = None
        self.device_id: str | None = None
        self.terms: tuple[str, dt.datetime] | None = None  # accepted version, when
        self.profile: dict[str, str] | None = None

    def check_device(self, device_id: str) -> None:
        if self.device_id is not None and self.device_id != device_id:
            raise AccountBoundToOtherDevice()

    def check_can_move_device(self, now: dt.datetime, rules: Rules) -> None:
        moved = getattr(self, "device_moved_at", None)  # accounts saved before moves existed have none
        if moved is not None and now < moved + dt.timedelta(days=rules.device_move_days):
            raise DeviceMoveTooSoon(retry_after=moved + dt.timedelta(days=rules.device_move_days))

    def check_terms(self, version: str) -> None:
        if version and (self.terms is None or self.terms[0] != version):
            raise TermsNotAccepted(version=version)

    def check_family_card(self, kk_number: str) -> None:
        """All applicants are on the booker's family card (the one in the profile, once given)."""
        if self.profile and self.profile["kk_number"] != kk_number:
            raise KkMismatch(kk=mask_number(self.profile["kk_number"]))

    def check_can_register(self, now: dt.datetime, rules: Rules) -> None:
        """Raise the first rule that forbids a new registration now."""
        if self.active_booking is not None:
            raise ActiveBookingExists()
        if len(self.registrations) >= rules.max_registrations:
            raise RegistrationLimitReached(limit=rules.max_registrations)
        if self.cooldown_until and now < self.cooldown_until:
            raise CooldownActive(retry_after=self.cooldown_until)
        allowed = self._spacing_end(rules.spacing_days)
        if allowed and now < allowed:
            raise SpacingNotElapsed(retry_after=allowed)

    def _spacing_end(self, spacing_days: int) -> dt.datetime | None:
        if not self.registrations:
            return None
        return max(self.registrations.values()) + dt.timedelta(days=spacing_days)

    def registrations_left(self, now: dt.datetime, rules: Rules) -> Registrations:
        ends = [t for t in (self.cooldown_until, self._spacing_end(rules.spacing_days)) if t and t > now]
        return Registrations(
            used=len(self.registrations),
            left=max(rules.max_registrations - len(self.registrations), 0),
            next_allowed_at=max(ends) if ends else None,
            cooldown_until=self.cooldown_until,
            active_booking=self.active_booking,
        )

    @event("DeviceBound")
    def bind_device(self, device_id: str) -> None:
        self.device_id = device_id

    @event("DeviceMoved")
    def move_device(self, from_device: str, device_id: str, at: dt.datetime, new_device: bool = True) -> None:
        """The recovery step of a lost or replaced phone: the account now belongs to `device_id`.

        Only a move to a device `new_device` to the account counts towards the limit on how often it moves.
        """
        self.device_id = device_id
        self.previous_device_id = from_device
        if new_device:
            self.device_moved_at = at

    @event("TermsAccepted")
    def accept_terms(self, version: str, at: dt.datetime) -> None:
        self.terms = (version, at)

    @event("ProfileUpdated")
    def update_profile(self, profile: dict[str, str]) -> None:
        self.profile = profile

    @event("RegistrationStarted")
    def start_registration(self, booking_id: str, at: dt.datetime) -> None:
        self.registrations[booking_id] = at
        self.bookings = [*self.bookings[1 - RECENT_BOOKINGS :], booking_id]
        self.booking_count += 1
        self.active_booking = booking_id

    @event("RegistrationReturned")
    def give_back(self, booking_id: str) -> None:
        """A rejected booking does not count."""
        self.registrations.pop(booking_id, None)
        if self.active_booking == booking_id:
            self.active_booking = None

    @event("RegistrationCancelled")
    def cancelled(self, booking_id: str, at: dt.datetime, cooldown_until: dt.datetime) -> None:
        self.cooldown_until = cooldown_until
        if self.active_booking == booking_id:
            self.active_booking = None

    @event("RegistrationEnded")
    def ended(self, booking_id: str) -> None:
        """Checked in or missed: no longer upcoming."""
        if self.active_booking == booking_id:
            self.active_booking = None
