"""Notifier on the wire: confirmations and cancellations in, issued tickets out."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Callable, Iterable
from concurrent.futures import Executor
from typing import Any

from faststream.nats import NatsBroker
from faststream.nats.annotations import NatsMessage
from pydantic import ValidationError

from shared.events import Commands, GetTicket, Message, Slot, TicketIssued, derived_id, subject_for, utcnow
from shared.runtime.consumer import ConsumerSpec
from shared.runtime.replies import invalid

from .application import NotifierApplication, TicketNotFound, ticket_view
from .domain import Ticket
from .render import qr_png

BOOKINGS = ConsumerSpec(
    stream="PASPOR_BOOKING",
    durable="notifier",
    filter_subjects=["paspor.booking.*.confirmed", "paspor.booking.*.cancelled"],
)


def batch_handler(app: NotifierApplication, writer: Executor, on_saved: Callable[[], None]):
    async def handle(messages: list[Message]) -> None:
        await asyncio.get_running_loop().run_in_executor(writer, app.apply_batch, messages, utcnow())
        on_saved()

    return handle


def to_wire(event: Any, partitions: int) -> Iterable[tuple[str, Message]]:
    if isinstance(event, Ticket.Issued):
        message = TicketIssued(
            message_id=derived_id("ticket", event.booking_id, "issued"), occurred_at=event.timestamp,
            correlation_id=event.correlation_id, causation_id=event.causation_id,
            booking_id=event.booking_id, slot=Slot(office=event.office, date=event.day, session=event.session),
            queue_number=event.queue_number, payload=event.payload, key_id=event.key_id,
            expires_at=event.expires_at,
        )
        yield subject_for(message, event.office, partitions), message


def register_queries(broker: NatsBroker, app: NotifierApplication, writer: Executor) -> None:
    """Serve tickets as JSON or PNG (rendered on demand, cached)."""

    @broker.subscriber(Commands.GET_TICKET, queue="notifier", title="ticket.get")
    async def get_ticket(msg: NatsMessage) -> dict:
        try:
            query = GetTicket.model_validate_json(msg.body)
        except ValidationError as error:
            return {"problem": invalid(error).model_dump(mode="json")}
        loop = asyncio.get_running_loop()
        try:
            ticket = await loop.run_in_executor(writer, app.ticket, query.booking_id)
        except TicketNotFound:
            return {"problem": {
                "code": "ticket_not_issued",
                "message_id": "Tiket belum diterbitkan; coba lagi sebentar.",
                "message_en": "The ticket has not been issued yet; try again shortly.",
            }}
        reply: dict[str, Any] = {"ticket": ticket_view(ticket).model_dump(mode="json")}
        if query.format == "png":
            png = await loop.run_in_executor(None, qr_png, ticket.payload)
            reply["png"] = base64.b64encode(png).decode()
        return reply
