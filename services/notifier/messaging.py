"""Notifier on the wire: confirmations and cancellations in; tickets, check-ins and no-shows out."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Callable, Iterable
from concurrent.futures import Executor
from typing import Any

from faststream.nats import NatsBroker

from shared.events import (
    BookingCheckedIn,
    BookingNoShow,
    CheckIn,
    CheckInReply,
    CheckInView,
    Commands,
    GetOfficeDay,
    GetTicket,
    Message,
    OfficeDay,
    Problem,
    Slot,
    TicketIssued,
    derived_id,
    subject_for,
    utcnow,
)
from shared.runtime import hops
from shared.runtime.consumer import ConsumerSpec
from shared.runtime.replies import serve

from .application import NotifierApplication, TicketNotFound, day_ticket, ticket_view
from .domain import Ticket
from .errors import AlreadyCheckedIn, CheckInRefused
from .render import ticket_png, ticket_svg
from .schedule import schedule_of, ticket_ics

BOOKINGS = ConsumerSpec(
    stream="PASPOR_BOOKING",
    durable="notifier",
    filter_subjects=["paspor.booking.*.confirmed", "paspor.booking.*.cancelled", "paspor.booking.*.offered"],
)
NOT_ISSUED = Problem(
    code="ticket_not_issued",
    message_id="Tiket belum diterbitkan; coba lagi sebentar.",
    message_en="The ticket has not been issued yet; try again shortly.",
)
Clock = Callable[[], Any]


def batch_handler(app: NotifierApplication, writer: Executor, on_saved: Callable[[], None]):
    async def handle(messages: list[Message]) -> None:
        await hops.on_writer(writer, app.apply_batch, messages, utcnow())
        on_saved()

    return handle


def to_wire(event: Any, partitions: int) -> Iterable[tuple[str, Message]]:
    """The wire events of a stored ticket event (Revoked and Reminded stay inside)."""
    message: TicketIssued | BookingCheckedIn | BookingNoShow | None = None
    if isinstance(event, Ticket.Issued):
        message = TicketIssued(
            message_id=derived_id("ticket", event.booking_id, "issued"),
            occurred_at=event.timestamp,
            correlation_id=event.correlation_id,
            causation_id=event.causation_id,
            booking_id=event.booking_id,
            slot=Slot(office=event.office, date=event.day, session=event.session),
            queue_number=event.queue_number,
            payload=event.payload,
            key_id=event.key_id,
            expires_at=event.expires_at,
        )
    elif isinstance(event, Ticket.CheckedIn | Ticket.NoShow):
        message = _outcome(event)
    if message is not None:
        yield subject_for(message, message.slot.office, partitions), message


def _outcome(event: Any) -> BookingCheckedIn | BookingNoShow:  # from a Ticket.CheckedIn or Ticket.NoShow
    """BookingCheckedIn or BookingNoShow, from the facts the stored event carries."""
    common = dict(
        occurred_at=event.timestamp,
        correlation_id=event.correlation_id,
        booking_id=event.booking_id,
        slot=Slot(office=event.office, date=event.day, session=event.session),
    )
    if isinstance(event, Ticket.CheckedIn):
        return BookingCheckedIn(
            message_id=derived_id("ticket", event.booking_id, "checked_in"), officer=event.officer, **common
        )
    return BookingNoShow(message_id=derived_id("ticket", event.booking_id, "no_show"), **common)


def register_queries(
    broker: NatsBroker,
    app: NotifierApplication,
    writer: Executor,
    on_saved: Callable[[], None] = lambda: None,
    clock: Clock = utcnow,
) -> None:
    """Serve tickets (JSON, PNG, SVG, ICS; images rendered on demand, cached), check-ins and office days."""

    async def get_ticket(query: GetTicket) -> dict:
        loop = asyncio.get_running_loop()
        try:
            ticket = await loop.run_in_executor(writer, app.ticket, query.booking_id)
        except TicketNotFound:
            return {"problem": NOT_ISSUED.model_dump(mode="json")}
        reply: dict[str, Any] = {"ticket": ticket_view(ticket).model_dump(mode="json")}
        if query.format != "json":
            reply[query.format] = await loop.run_in_executor(None, render, ticket, query.format, app)
        return reply

    async def check_in(command: CheckIn) -> dict:
        loop = asyncio.get_running_loop()
        try:
            ticket = await loop.run_in_executor(
                writer, app.check_in, command.payload, command.officer, command.office, clock()
            )
        except AlreadyCheckedIn as refused:
            first = await loop.run_in_executor(writer, app.ticket, refused.booking_id)
            return CheckInReply(checkin=checkin_view(first), problem=problem(refused)).model_dump(mode="json")
        except CheckInRefused as refused:
            return CheckInReply(problem=problem(refused)).model_dump(mode="json")
        on_saved()
        return CheckInReply(checkin=checkin_view(ticket)).model_dump(mode="json")

    async def office_day(query: GetOfficeDay) -> dict:
        tickets = await asyncio.get_running_loop().run_in_executor(writer, app.office_day, query.office, query.date)
        day = OfficeDay(office=query.office, date=query.date, tickets=[day_ticket(t) for t in tickets])
        return {"day": day.model_dump(mode="json")}

    serve(broker, Commands.GET_TICKET, GetTicket, get_ticket, queue="notifier")
    serve(broker, Commands.CHECK_IN, CheckIn, check_in, queue="notifier")
    serve(broker, Commands.OFFICE_DAY, GetOfficeDay, office_day, queue="notifier")


def render(ticket: Ticket, fmt: str, app: NotifierApplication) -> str:
    """A ticket as png (base64), svg or ics text."""
    schedule = schedule_of(ticket, app.policy)
    if fmt == "png":
        return base64.b64encode(ticket_png(ticket.payload, schedule)).decode()
    if fmt == "svg":
        return ticket_svg(ticket.payload, schedule)
    return ticket_ics(schedule, ticket.created_on)


def problem(refused: CheckInRefused) -> Problem:
    return Problem(code=refused.code, message_id=refused.indonesian(), message_en=refused.english())


def checkin_view(ticket: Ticket) -> CheckInView:
    assert ticket.checked_in is not None, "a check-in view is of a checked-in ticket"
    at, officer = ticket.checked_in
    return CheckInView(
        booking_id=ticket.booking_id,
        slot=Slot(office=ticket.office, date=ticket.day, session=ticket.session),
        queue_number=ticket.queue_number,
        applicants=ticket.applicants,
        checked_in_at=at,
        officer=officer,
    )
