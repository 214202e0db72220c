"""Ticket commands and events."""

from __future__ import annotations

import datetime as dt
import uuid
from datetime import datetime
from typing import Literal

from pydantic import Field

from .booking import Problem
from .common import Frozen, OfficeCode, Slot
from .envelope import Message


class TicketIssued(Message):
    """Event: a signed ticket was issued for a confirmed booking."""

    booking_id: uuid.UUID = Field(description="The confirmed booking.")
    slot: Slot = Field(description="Office, date and session.")
    queue_number: int = Field(ge=1, description="Queue number within the session.")
    payload: str = Field(description="The signed, compact payload encoded in the QR code.")
    key_id: str = Field(description="Id of the Ed25519 key that signed it.")
    expires_at: datetime = Field(description="After this time the ticket no longer verifies.")


class GetTicket(Message):
    """Query: a booking's ticket, as JSON or as an image."""

    booking_id: uuid.UUID = Field(description="The booking whose ticket is wanted.")
    format: str = Field(
        default="json",
        pattern="^(json|png|svg|ics)$",
        description="json; png or svg (QR code with the schedule); ics (calendar file).",
    )


class TicketView(Frozen):
    """A ticket as the citizen sees it."""

    booking_id: uuid.UUID = Field(description="The booking.")
    slot: Slot = Field(description="Office, date and session.")
    queue_number: int = Field(description="Queue number.")
    payload: str = Field(description="The signed payload in the QR code.")
    key_id: str = Field(description="Signing key id.")
    expires_at: datetime = Field(description="Expiry, UTC.")
    revoked: bool = Field(default=False, description="True once the booking was cancelled.")


class CheckIn(Message):
    """Command: office staff scanned a ticket; admit its holder if it is genuine and for here and now."""

    payload: str = Field(min_length=1, max_length=2048, description="The scanned QR payload (AP1.<claims>.<sig>).")
    officer: str = Field(min_length=1, max_length=200, description="The officer's account (provider:subject).")
    office: OfficeCode = Field(description="The officer's office: the ticket must be for it.")


class CheckInView(Frozen):
    """A check-in as the officer sees it."""

    booking_id: uuid.UUID = Field(description="The booking checked in.")
    slot: Slot = Field(description="Office, date and session.")
    queue_number: int = Field(description="Queue number.")
    applicants: int = Field(description="Number of applicants to serve.")
    checked_in_at: datetime = Field(description="When, UTC.")
    officer: str = Field(description="Who checked them in.")


class CheckInReply(Frozen):
    """Reply to CheckIn: the check-in, or a problem (already checked in: both, the first check-in)."""

    checkin: CheckInView | None = Field(default=None, description="The (first) check-in of this booking.")
    problem: Problem | None = Field(default=None, description="Why it was refused, if it was.")


class GetOfficeDay(Message):
    """Query: an office's tickets for one date, for its check-in desk (who came, who has not yet)."""

    office: OfficeCode = Field(description="The office.")
    date: dt.date = Field(description="The appointment date.")


class DayTicket(Frozen):
    """One ticket on an office's day list. No personal data: the queue number is what the desk calls."""

    booking_id: uuid.UUID = Field(description="The booking.")
    session: str = Field(description="pagi or siang.")
    queue_number: int = Field(description="Queue number within the session.")
    applicants: int = Field(description="Number of applicants to serve.")
    status: Literal["waiting", "checked_in", "no_show", "cancelled"] = Field(
        description="waiting (not come yet), checked_in, no_show (the session is over), cancelled."
    )
    checked_in_at: datetime | None = Field(default=None, description="When it was checked in, UTC.")
    officer: str | None = Field(default=None, description="Who checked it in.")


class OfficeDay(Frozen):
    """Reply to GetOfficeDay: the office's tickets for the date, by session and queue number."""

    office: str = Field(description="The office.")
    date: dt.date = Field(description="The date.")
    tickets: list[DayTicket] = Field(description="Every ticket issued for the date, cancelled ones included.")
