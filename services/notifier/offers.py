"""Waitlist offers told through the reminder sinks: a place is held for a booking until a deadline.

The status stream (SSE, long poll) shows the offer to a citizen who is looking; the sink (log, file or
webhook, `PASPOR_NOTIFIER_REMINDER_SINK`) reaches one who is not. Like a reminder, a notice names the
booking, never a person: whoever receives it looks the contact up by booking id. A sink that fails
makes the batch fail: it is delivered again (the tickets it issued are recorded once), so no offer goes
untold; the webhook's idempotency key (`offer-<booking id>`) lets the receiver drop a repeat.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from shared.events import Message
from shared.events.waitlist import BookingOffered

from .reminders import Sink


@dataclass(frozen=True)
class OfferNotice:
    """One waitlist offer, as the sinks send it."""

    offer: BookingOffered

    @property
    def idempotency_key(self) -> str:
        return f"offer-{self.offer.booking_id}"

    def as_json(self) -> dict:
        o = self.offer
        until = o.hold_until.isoformat()
        return {
            "type": "WaitlistOffer",
            "booking_id": str(o.booking_id),
            "office": o.slot.office,
            "date": o.slot.date.isoformat(),
            "session": o.slot.session.value,
            "queue_number": o.queue_number,
            "hold_until": until,
            "text": f"Tempat tersedia / a place is free: {o.slot.office} {o.slot.date} {o.slot.session.value}, "
            f"queue number {o.queue_number}; accept before {until}.",
        }


def telling_offers(
    handle: Callable[[list[Message]], Awaitable[None]], sink: Sink
) -> Callable[[list[Message]], Awaitable[None]]:
    """The bookings consumer's handler, then a notice for every offer in the batch."""

    async def handled(messages: list[Message]) -> None:
        await handle(messages)
        for message in messages:
            if isinstance(message, BookingOffered):
                await sink.send(OfferNotice(message))

    return handled
