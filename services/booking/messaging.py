"""Booking on the wire: commands in (request/reply), quota decisions in, booking events out."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from concurrent.futures import Executor
from typing import Any

from faststream.nats import NatsBroker
from faststream.nats.annotations import NatsMessage
from pydantic import BaseModel, ValidationError

from shared.events import (
    BookingCancelled,
    BookingConfirmed,
    BookingRejected,
    BookingRequested,
    CancelBooking,
    Commands,
    GetBooking,
    Message,
    Problem,
    RequestBooking,
    Slot,
    derived_id,
    subject_for,
    utcnow,
)
from shared.runtime.consumer import ConsumerSpec
from shared.runtime.replies import invalid

from .application import BookingApplication, view
from .domain import Account, Booking
from .errors import BookingError, ConcurrentRequest

OUTCOMES = ConsumerSpec(
    stream="PASPOR_QUOTA",
    durable="booking-outcomes",
    filter_subjects=["paspor.quota.*.reserved", "paspor.quota.*.rejected"],
)


def problem(error: BookingError) -> dict:
    return {"problem": Problem(
        code=error.code, message_id=error.indonesian(), message_en=error.english(), retry_after=error.retry_after,
    ).model_dump(mode="json")}


def register_commands(broker: NatsBroker, app: BookingApplication, writer: Executor, on_saved: Callable[[], None]) -> None:
    """Serve booking commands and queries (queue group: any booking replica may answer)."""

    async def call(model: type[BaseModel], body: bytes, action: Callable[[Any], Any]) -> dict:
        try:
            command = model.model_validate_json(body)
        except ValidationError as error:
            return {"problem": invalid(error).model_dump(mode="json")}
        loop = asyncio.get_running_loop()
        for attempt in (1, 2):  # a lost race reloads and decides again, once
            try:
                result = await loop.run_in_executor(writer, action, command)
                break
            except ConcurrentRequest as error:
                if attempt == 2:
                    return problem(error)
            except BookingError as error:
                return problem(error)
        on_saved()
        return {"booking": result.model_dump(mode="json")}

    @broker.subscriber(Commands.REQUEST_BOOKING, queue="booking", title="booking.request")
    async def request_booking(msg: NatsMessage) -> dict:
        return await call(RequestBooking, msg.body, lambda c: app.request_booking(c, utcnow()))

    @broker.subscriber(Commands.CANCEL_BOOKING, queue="booking", title="booking.cancel")
    async def cancel_booking(msg: NatsMessage) -> dict:
        return await call(
            CancelBooking, msg.body,
            lambda c: app.cancel(c.caller.provider, c.caller.subject, c.booking_id, utcnow()),
        )

    @broker.subscriber(Commands.GET_BOOKING, queue="booking", title="booking.get")
    async def get_booking(msg: NatsMessage) -> dict:
        def get(query: GetBooking) -> Any:
            owner = Account.id_for(*query.account.split(":", 1)) if query.account else None
            return view(app.booking(query.booking_id, owner))

        return await call(GetBooking, msg.body, get)


def outcome_handler(app: BookingApplication, writer: Executor, on_saved: Callable[[], None]):
    async def handle(messages: list[Message]) -> None:
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(writer, app.apply_outcomes, messages, utcnow())
        on_saved()

    return handle


def to_wire(event: Any, partitions: int) -> Iterable[tuple[str, Message]]:
    """The wire message of one stored booking event (accounts and claims stay inside)."""
    message = _message(event)
    if message is not None:
        yield subject_for(message, event.office, partitions), message


def _message(event: Any) -> Message | None:
    if not isinstance(event, Booking.Event):
        return None
    booking_id = event.originator_id
    slot = Slot(office=event.office, date=event.day, session=event.session)
    common = {"occurred_at": event.timestamp, "booking_id": booking_id, "slot": slot}
    if isinstance(event, Booking.Requested):
        return BookingRequested(
            message_id=derived_id("booking", booking_id, "requested"), correlation_id=event.correlation_id,
            applicants=len(event.applicants), **common,
        )
    if isinstance(event, Booking.Confirmed):
        return BookingConfirmed(
            message_id=derived_id("booking", booking_id, "confirmed"), correlation_id=event.correlation_id,
            causation_id=event.causation_id, applicants=event.applicants, queue_number=event.queue_number, **common,
        )
    if isinstance(event, Booking.Rejected):
        return BookingRejected(
            message_id=derived_id("booking", booking_id, "rejected"), correlation_id=event.correlation_id,
            causation_id=event.causation_id, reason=event.reason, **common,
        )
    if isinstance(event, Booking.Cancelled):
        return BookingCancelled(
            message_id=derived_id("booking", booking_id, "cancelled"), correlation_id=event.correlation_id,
            was_confirmed=event.was_confirmed, **common,
        )
    return None
