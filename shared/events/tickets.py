"""Ticket commands and events."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import Field

from .common import Frozen, Slot
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
    format: str = Field(default="json", pattern="^(json|png)$", description="json or png.")


class TicketView(Frozen):
    """A ticket as the citizen sees it."""

    booking_id: uuid.UUID = Field(description="The booking.")
    slot: Slot = Field(description="Office, date and session.")
    queue_number: int = Field(description="Queue number.")
    payload: str = Field(description="The signed payload in the QR code.")
    key_id: str = Field(description="Signing key id.")
    expires_at: datetime = Field(description="Expiry, UTC.")
    revoked: bool = Field(default=False, description="True once the booking was cancelled.")
