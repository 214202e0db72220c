"""Accounts, NIK claims and bookings: the citizen-facing rules. Pure: `now` is passed in."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from shared.events import derived_id
from shared.privacy import mask_number

from .errors import (
    ActiveBookingExists,
    CooldownActive,
    NikAlreadyBooked,
    NotCancellable,
    RegistrationLimitReached,
    SpacingNotElapsed,
)


@dataclass(frozen=True)
class Rules:
    """The rulebook's numbers (defaults from DESIGN.md, overridable by configuration)."""

    max_registrations: int = 5
    spacing_days: int = 30
    cooldown_days: int = 30


class Account(Aggregate):
    """A citizen's account, known by its external identity."""

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
        self.active_booking: str | None = None
        self.cooldown_until: dt.datetime | None = None

    def check_can_register(self, now: dt.datetime, rules: Rules) -> None:
        """Raise the first rule that forbids a new registration now."""
        if self.active_booking is not None:
            raise ActiveBookingExists()
        if len(self.registrations) >= rules.max_registrations:
            raise RegistrationLimitReached(limit=rules.max_registrations)
        if self.cooldown_until and now < self.cooldown_until:
            raise CooldownActive(retry_after=self.cooldown_until)
        if self.registrations:
            allowed = max(self.registrations.values()) + dt.timedelta(days=rules.spacing_days)
            if now < allowed:
                raise SpacingNotElapsed(retry_after=allowed)

    @event("RegistrationStarted")
    def start_registration(self, booking_id: str, at: dt.datetime) -> None:
        self.registrations[booking_id] = at
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


class NikClaim(Aggregate):
    """The claim of one NIK on at most one upcoming booking (anti-broker rule)."""

    @staticmethod
    def id_for(nik: str) -> UUID:
        return derived_id("nik", nik)

    @classmethod
    def create_id(cls, nik: str) -> UUID:
        return cls.id_for(nik)

    @event("Opened")
    def __init__(self, nik: str) -> None:
        self.nik = nik
        self.booking_id: str | None = None

    def check_free(self) -> None:
        if self.booking_id is not None:
            raise NikAlreadyBooked(nik=mask_number(self.nik))

    @event("Claimed")
    def claim(self, booking_id: str) -> None:
        self.booking_id = booking_id

    @event("Freed")
    def free(self, booking_id: str) -> None:
        if self.booking_id == booking_id:
            self.booking_id = None


class Booking(Aggregate):
    """One registration: a slot for one to five applicants of one family card."""

    @staticmethod
    def id_for(account_id: UUID, idempotency_key: str) -> UUID:
        return derived_id("booking", account_id, idempotency_key)

    @classmethod
    def create_id(cls, account_id: UUID, idempotency_key: str, **_: Any) -> UUID:
        return cls.id_for(account_id, idempotency_key)

    @event("Requested")
    def __init__(
        self, account_id: UUID, idempotency_key: str, office: str, day: dt.date, session: str,
        kk_number: str, applicants: list[dict[str, str]], correlation_id: str, at: dt.datetime,
    ) -> None:
        self.account_id, self.idempotency_key = account_id, idempotency_key
        self.office, self.day, self.session = office, day, session
        self.kk_number, self.applicants = kk_number, applicants
        self.correlation_id = correlation_id
        self.status = "requested"
        self.queue_number: int | None = None
        self.reason: str | None = None
        self.history: list[tuple[str, dt.datetime, str]] = [("requested", at, "")]

    @property
    def niks(self) -> list[str]:
        return [a["nik"] for a in self.applicants]

    @property
    def slot(self) -> tuple[str, dt.date, str]:
        return self.office, self.day, self.session

    def confirm(self, queue_number: int, at: dt.datetime, causation_id: str) -> bool:
        """Take the reserved slot; False if the booking moved on already."""
        if self.status != "requested":
            return False
        self._confirmed(*self.slot, len(self.applicants), queue_number, at, self.correlation_id, causation_id)
        return True

    def reject(self, reason: str, at: dt.datetime, causation_id: str) -> bool:
        if self.status != "requested":
            return False
        self._rejected(*self.slot, reason, at, self.correlation_id, causation_id)
        return True

    def cancel(self, at: dt.datetime) -> None:
        if self.status not in ("requested", "confirmed"):
            raise NotCancellable(status=self.status)
        self._cancelled(*self.slot, self.status == "confirmed", at, self.correlation_id)

    @event("Confirmed")
    def _confirmed(
        self, office: str, day: dt.date, session: str, applicants: int, queue_number: int,
        at: dt.datetime, correlation_id: str, causation_id: str,
    ) -> None:
        self.status, self.queue_number = "confirmed", queue_number
        self.history.append(("confirmed", at, f"queue number {queue_number}"))

    @event("Rejected")
    def _rejected(
        self, office: str, day: dt.date, session: str, reason: str, at: dt.datetime,
        correlation_id: str, causation_id: str,
    ) -> None:
        self.status, self.reason = "rejected", reason
        self.history.append(("rejected", at, reason))

    @event("Cancelled")
    def _cancelled(
        self, office: str, day: dt.date, session: str, was_confirmed: bool, at: dt.datetime,
        correlation_id: str,
    ) -> None:
        self.status, self.reason = "cancelled", "cancelled by the applicant"
        self.history.append(("cancelled", at, ""))
