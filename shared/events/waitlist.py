"""Waitlist events and commands: a full session's waitlist, and the holds it offers when a place frees up."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import Field

from .booking import Caller
from .common import Slot
from .envelope import Message


class SlotWaitlisted(Message):
    """Event: a booking that asked to wait found its session full and joined the session's waitlist."""

    booking_id: uuid.UUID = Field(description="The booking waiting.")
    slot: Slot = Field(description="Office, date and session waited for.")


class SlotOffered(Message):
    """Event: a freed place is held for a waiting booking until `hold_until`; accept it before then."""

    booking_id: uuid.UUID = Field(description="The booking offered the place.")
    slot: Slot = Field(description="Office, date and session.")
    queue_number: int = Field(ge=1, description="The queue number held for it.")
    hold_until: datetime = Field(
        description="When the hold lapses (UTC) unless accepted; then the next one waiting is offered."
    )


class BookingWaitlisted(Message):
    """Event (booking): the booking waits on its full session's waitlist."""

    booking_id: uuid.UUID = Field(description="The booking's id.")
    slot: Slot = Field(description="Office, date and session waited for.")


class BookingOffered(Message):
    """Event (booking): a freed place is held for the booking until `hold_until`; its owner may accept it."""

    booking_id: uuid.UUID = Field(description="The booking's id.")
    slot: Slot = Field(description="Office, date and session.")
    queue_number: int = Field(ge=1, description="The queue number held for it.")
    hold_until: datetime = Field(description="When the offer lapses unless accepted (UTC).")


class AcceptHold(Message):
    """Command (booking service to the partition's quota worker): turn a booking's hold into its reservation."""

    booking_id: uuid.UUID = Field(description="The booking holding the offer.")
    slot: Slot = Field(description="Office, date and session of the hold.")


class AcceptOffer(Message):
    """Command (gateway to booking): the caller accepts the place offered to their waiting booking."""

    caller: Caller = Field(description="The signed-in account and its device.")
    booking_id: uuid.UUID = Field(description="The booking offered a place.")
