"""Booking commands, replies and events."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import Enum
from typing import Annotated, Literal

from pydantic import Field, StringConstraints, field_validator, model_validator

from .common import Applicant, Frozen, Session, SixteenDigits, Slot
from .envelope import Message
from .payments import PaymentView


class Caller(Frozen):
    """Who sends a command: an external identity, verified by the gateway, and their device."""

    provider: str = Field(min_length=1, max_length=40, description="Identity provider, e.g. google.")
    subject: str = Field(min_length=1, max_length=200, description="The provider's user id.")
    device_id: str = Field(min_length=8, max_length=128, description="The device's stable id.")


class RequestBooking(Message):
    """Command: book a slot for up to five applicants of one family card."""

    caller: Caller = Field(description="The signed-in account and its device.")
    idempotency_key: str = Field(min_length=8, max_length=128, description="Same key, same booking: retries are safe.")
    slot: Slot = Field(description="The office, date and session wanted.")
    kk_number: SixteenDigits = Field(description="Family card (KK) number, 16 digits.")
    applicants: list[Applicant] = Field(min_length=1, max_length=5, description="One to five applicants on that KK.")
    waitlist: bool = Field(
        default=False,
        description="If the session is full, wait on its waitlist for a freed place instead of a refusal.",
    )
    fallbacks: list[Session] = Field(
        default_factory=list,
        max_length=2,
        description="Other sessions of the same date it also takes, in order, if a release draw finds the "
        "wanted one full (distinct, never the wanted one).",
    )

    @model_validator(mode="after")
    def _fallbacks_are_other_sessions(self) -> RequestBooking:
        check_fallbacks(self.slot.session, self.fallbacks)
        return self

    @field_validator("applicants")
    @classmethod
    def _niks_are_unique(cls, applicants: list[Applicant]) -> list[Applicant]:
        niks = [a.nik for a in applicants]
        if len(set(niks)) != len(niks):
            raise ValueError("each applicant's NIK must appear once in a booking")
        return applicants


def check_fallbacks(wanted: Session, fallbacks: list[Session]) -> None:
    """Fallbacks are other sessions of the same date, each named once (ValueError otherwise)."""
    if wanted in fallbacks:
        raise ValueError("a fallback session must differ from the session wanted")
    if len(set(fallbacks)) != len(fallbacks):
        raise ValueError("each fallback session must appear once")


class CancelBooking(Message):
    """Command: cancel one's own upcoming booking."""

    caller: Caller = Field(description="The signed-in account and its device.")
    booking_id: uuid.UUID = Field(description="The booking to cancel.")


class RescheduleBooking(Message):
    """Command: move one's confirmed booking to another slot, once, until the day before its date.

    The new slot is reserved first; the old one is released only once the new one is given.
    """

    caller: Caller = Field(description="The signed-in account and its device.")
    booking_id: uuid.UUID = Field(description="The booking to move.")
    slot: Slot = Field(description="The new office, date and session (any office: quota decides it).")


STAFF_ROLES = ("officer", "operator")


class GetBooking(Message):
    """Query: one booking of the caller's (or any, for staff: an explicit role, never a missing account)."""

    booking_id: uuid.UUID = Field(description="The booking wanted.")
    account: str | None = Field(
        default=None, max_length=241, description="provider:subject of the caller; a citizen sees only their own."
    )
    role: Literal["citizen", "officer", "operator"] = Field(
        default="citizen",
        description="The caller's role as the gateway verified it: officer or operator may read any booking; "
        "a citizen's query needs `account`.",
    )
    device_id: str | None = Field(
        default=None,
        min_length=8,
        max_length=128,
        description="The citizen's device as the gateway proved it: a citizen reads only from the device their "
        "account is bound to.",
    )


class BookingStatus(str, Enum):
    """Where a booking is in its life."""

    REQUESTED = "requested"
    WAITLISTED = "waitlisted"  # on the full session's waitlist
    OFFERED = "offered"  # a freed place is held for it until `hold_until`
    CONFIRMED = "confirmed"
    REJECTED = "rejected"
    CANCELLED = "cancelled"
    CHECKED_IN = "checked_in"
    NO_SHOW = "no_show"
    VOIDED = "voided"  # its fee was not paid by the deadline: the slot went back to the session


class HistoryEntry(Frozen):
    """One step of a booking's life."""

    status: BookingStatus = Field(description="The status it entered.")
    at: datetime = Field(description="When, in UTC.")
    detail: str = Field(default="", description="Reason or queue number, if any.")


class BookingView(Frozen):
    """A booking as its owner sees it (no personal data beyond the count of applicants)."""

    booking_id: uuid.UUID = Field(description="The booking's id.")
    slot: Slot = Field(description="Office, date and session.")
    status: BookingStatus = Field(description="Current status.")
    applicants: int = Field(ge=1, le=5, description="Number of applicants covered.")
    queue_number: int | None = Field(default=None, description="Queue number once confirmed.")
    reason: str | None = Field(default=None, description="Why it was rejected or cancelled.")
    history: list[HistoryEntry] = Field(default_factory=list, description="Its life so far.")
    starts_at: datetime | None = Field(default=None, description="Session start, in the office's time zone.")
    ends_at: datetime | None = Field(default=None, description="Session end, in the office's time zone.")
    timezone: str | None = Field(default=None, description="The office's time zone, e.g. Asia/Jakarta.")
    payment: PaymentView | None = Field(
        default=None, description="Once confirmed: the fee's billing code, amount and deadline, and whether it is paid."
    )
    hold_until: datetime | None = Field(
        default=None, description="While offered a place from the waitlist: when the offer lapses unless accepted."
    )
    waiting_for_draw: bool = Field(
        default=False,
        description="Requested during its date's release window: it waits in the waiting room for the draw, "
        "which decides it when the window closes (`draw_closes_at`).",
    )
    draw_closes_at: datetime | None = Field(default=None, description="When its release draw is made, in UTC.")
    ticket_for: uuid.UUID | None = Field(
        default=None,
        description="Once rescheduled: the id its ticket is issued under (its move's, which holds its new slot); "
        "None: the booking's own id.",
    )


class Problem(Frozen):
    """A refusal with a stable code and a message in Indonesian and English."""

    code: str = Field(description="Stable machine-readable code, e.g. sold_out.")
    message_id: str = Field(description="Message in Indonesian.")
    message_en: str = Field(description="Message in English.")
    retry_after: datetime | None = Field(default=None, description="When trying again may work.")


class BookingReply(Frozen):
    """Reply to a booking command or query: the booking, or a problem."""

    booking: BookingView | None = Field(default=None, description="The booking, on success.")
    problem: Problem | None = Field(default=None, description="The refusal, on failure.")


class BookingRequested(Message):
    """Event: a booking was recorded and waits for the quota service's decision."""

    booking_id: uuid.UUID = Field(description="The booking's id.")
    slot: Slot = Field(description="Office, date and session wanted.")
    applicants: int = Field(ge=1, le=5, description="Number of applicants.")
    waitlist: bool = Field(default=False, description="If the session is full, the booking waits on its waitlist.")
    fallbacks: list[Session] = Field(
        default_factory=list,
        max_length=2,
        description="Other sessions of the same date it takes, in order, when a release draw offers it a place "
        "and the wanted session is full (none: only the wanted one).",
    )
    draw_keys: list[Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{32}$")]] = Field(
        default_factory=list,
        max_length=6,
        description="Keyed ids (HMAC-SHA256, not reversible) of its account and NIKs for this office and date: a "
        "release draw lets each in once (shared/pseudonyms.py). Empty from older senders.",
    )


class BookingConfirmed(Message):
    """Event: the quota service reserved a slot; the booking holds a queue number."""

    booking_id: uuid.UUID = Field(description="The booking's id.")
    slot: Slot = Field(description="Office, date and session.")
    applicants: int = Field(ge=1, le=5, description="Number of applicants.")
    queue_number: int = Field(ge=1, description="Queue number within the session.")


class BookingRejected(Message):
    """Event: no slot was given; the registration goes back to the account."""

    booking_id: uuid.UUID = Field(description="The booking's id.")
    slot: Slot = Field(description="Office, date and session wanted.")
    reason: str = Field(description="Why: sold_out, office_closed, not_released, date_past.")


class BookingCancelled(Message):
    """Event: the owner cancelled; the slot goes back to the session."""

    booking_id: uuid.UUID = Field(description="The booking's id.")
    slot: Slot = Field(description="Office, date and session it held.")
    was_confirmed: bool = Field(description="Whether it held a slot that must be released.")
    reason: str = Field(
        default="cancelled", description="cancelled (by its owner) or unpaid (voided: the fee was not paid in time)."
    )


class BookingCheckedIn(Message):
    """Event (from the notifier): office staff checked the booking's applicants in."""

    booking_id: uuid.UUID = Field(description="The booking's id.")
    slot: Slot = Field(description="Office, date and session.")
    officer: str = Field(description="Who checked them in (the officer's account).")


class BookingNoShow(Message):
    """Event (from the notifier): the session ended and the booking was never checked in."""

    booking_id: uuid.UUID = Field(description="The booking's id.")
    slot: Slot = Field(description="Office, date and session it held.")


class GetProfile(Message):
    """Query: the caller's profile."""

    caller: Caller = Field(description="The signed-in account and its device.")


class UpdateProfile(Message):
    """Command: set the caller's profile (validated by the booking service: NIK structure, KK, phone)."""

    caller: Caller = Field(description="The signed-in account and its device.")
    full_name: str = Field(min_length=1, max_length=120, description="Full name as on the KTP.")
    nik: str = Field(min_length=1, max_length=32, description="The account holder's NIK, 16 digits.")
    kk_number: str = Field(min_length=1, max_length=32, description="The account holder's family card number.")
    phone: str = Field(min_length=6, max_length=24, description="Indonesian phone number: 08xx, 628xx or +628xx.")
    email: str = Field(min_length=3, max_length=254, description="E-mail address.")
    birth_date: date = Field(description="Date of birth (must match the NIK).")


class ProfileView(Frozen):
    """The caller's own profile (personal data: shown to its owner only, never logged)."""

    full_name: str = Field(description="Full name.")
    nik: str = Field(description="NIK.")
    kk_number: str = Field(description="Family card number: every booking of the account is for this KK.")
    phone: str = Field(description="Phone number, international form (+62...).")
    email: str = Field(description="E-mail address.")
    birth_date: date = Field(description="Date of birth.")


class GetTerms(Message):
    """Query: the current terms and conditions version and whether the caller accepted it."""

    caller: Caller = Field(description="The signed-in account and its device.")


class AcceptTerms(Message):
    """Command: accept one version of the terms and conditions."""

    caller: Caller = Field(description="The signed-in account and its device.")
    version: str = Field(min_length=1, max_length=40, description="The version accepted (must be the current one).")


class TermsView(Frozen):
    """The terms and conditions as they stand for the caller."""

    current_version: str = Field(description="The version in force.")
    accepted_version: str | None = Field(default=None, description="The version the caller accepted, if any.")
    accepted_at: datetime | None = Field(default=None, description="When, in UTC.")
    accepted: bool = Field(description="True when the caller accepted the version in force.")


class GetRegistrations(Message):
    """Query: how many registrations the caller has left, and from when the next one is allowed."""

    caller: Caller = Field(description="The signed-in account and its device.")


class RegistrationsView(Frozen):
    """An account's registrations: used, left, and the earliest next one."""

    used: int = Field(ge=0, description="Registrations counted (a rejected one is not).")
    limit: int = Field(ge=1, description="Registrations allowed per account, ever.")
    left: int = Field(ge=0, description="Registrations left.")
    next_allowed_at: datetime | None = Field(
        default=None, description="Earliest next registration (spacing or cooldown), None if now."
    )
    cooldown_until: datetime | None = Field(default=None, description="End of the cooldown after a cancellation.")
    active_booking_id: uuid.UUID | None = Field(default=None, description="The upcoming booking, if any.")


class MoveDevice(Message):
    """Command: bind the account to the caller's device instead of its old one (a new phone; limited in frequency)."""

    caller: Caller = Field(description="The signed-in account and the new device it moves to.")


class DeviceView(Frozen):
    """The device an account is bound to, and when it may move again."""

    device_id: str = Field(description="The bound device (in DPoP mode: its key's RFC 7638 thumbprint).")
    previous_device_id: str | None = Field(default=None, description="The device it was bound to before a move.")
    moved_at: datetime | None = Field(default=None, description="When it last moved, in UTC.")
    next_move_at: datetime | None = Field(default=None, description="Earliest next move, in UTC.")


class ListBookings(Message):
    """Query: a page of the caller's bookings, newest first (the reply's `next_cursor` names the next page)."""

    caller: Caller = Field(description="The signed-in account and its device.")
    limit: int = Field(default=50, ge=1, le=200, description="Bookings a page holds at most.")
    cursor: int | None = Field(
        default=None, ge=1, description="Where the page starts: the `next_cursor` of the page before (None: newest)."
    )
