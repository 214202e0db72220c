"""A waiting booking's steps on the wire: the gateway's status stream and the notifier follow them."""

from __future__ import annotations

from typing import Any

from shared.events import Message, Slot, derived_id
from shared.events.waitlist import BookingOffered, BookingWaitlisted

from .waitlist import WaitingBooking


def waiting_message(event: Any) -> Message:
    """The wire message of a stored `Booking.Waitlisted` or `Booking.Offered`."""
    booking_id = event.originator_id
    common = {
        "occurred_at": event.timestamp,
        "booking_id": booking_id,
        "slot": Slot(office=event.office, date=event.day, session=event.session),
        "correlation_id": event.correlation_id,
        "causation_id": event.causation_id,
    }
    if isinstance(event, WaitingBooking.Offered):
        return BookingOffered(
            message_id=derived_id("booking", booking_id, "offered"),
            queue_number=event.queue_number,
            hold_until=event.hold_until,
            **common,
        )
    return BookingWaitlisted(message_id=derived_id("booking", booking_id, "waitlisted"), **common)
