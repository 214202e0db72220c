"""Booking on the wire: commands in (request/reply), quota decisions and attendance in, events out."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from faststream.nats import NatsBroker
from nats.aio.client import Client
from nats.errors import Error as NatsError
from opentelemetry.trace import SpanKind, StatusCode
from pydantic import BaseModel

from shared.events import (
    STAFF_ROLES,
    AcceptTerms,
    BookingCancelled,
    BookingConfirmed,
    BookingRejected,
    BookingRequested,
    CancelBooking,
    Commands,
    GetBooking,
    GetProfile,
    GetRegistrations,
    GetTerms,
    ListBookings,
    Message,
    MoveDevice,
    RecordPayment,
    RequestBooking,
    RescheduleBooking,
    Slot,
    TermsView,
    UpdateProfile,
    derived_id,
    subject_for,
    utcnow,
)
from shared.pseudonyms import Pseudonyms
from shared.runtime import hops
from shared.runtime.consumer import ConsumerSpec
from shared.runtime.grouping import GroupCommit
from shared.runtime.replies import problem, serve

from .account_actions import BookingsPage
from .accounts import Account
from .application import BookingApplication
from .domain import Booking
from .draw_keys import draw_keys
from .errors import AccountRequired, BookingError
from .fastpath import Ask, FastPath, NoAnswer
from .grouping import RequestGroups
from .moves import MovingBooking
from .offers_wire import waiting_message
from .waitlist import WaitingBooking

log = logging.getLogger(__name__)
OUTCOMES = ConsumerSpec(
    stream="PASPOR_QUOTA",
    durable="booking-outcomes",
    filter_subjects=[
        "paspor.quota.*.decided",
        "paspor.quota.*.withdrawn",
        "paspor.quota.*.waitlisted",  # the waitlist: a booking waits, then is offered a held place
        "paspor.quota.*.offered",
    ],
)
ATTENDANCE = ConsumerSpec(
    stream="PASPOR_TICKET",
    durable="booking-attendance",
    filter_subjects=["paspor.ticket.*.checked_in", "paspor.ticket.*.no_show"],
)


@dataclass(frozen=True)
class Concurrency:
    """How many requests each kind of handler takes at once."""

    requests: int = 1000  # two full groups: one being saved, the next one gathering
    queries: int = 64


@dataclass(frozen=True)
class Threads:
    """Where the booking service's work runs: saves on its single writer, reads beside it."""

    writer: Executor
    readers: Executor


def refusal(error: BookingError) -> dict:
    log.info("refused: %s", error.code)  # the code only: messages may name (masked) personal data
    return problem(error.code, error.indonesian(), error.english(), retry_after=error.retry_after)


def _json(value: Any) -> Any:
    if isinstance(value, list):
        return [_json(v) for v in value]
    return value.model_dump(mode="json") if isinstance(value, BaseModel) else value


def register_commands(
    broker: NatsBroker,
    app: BookingApplication,
    threads: Threads,
    on_saved: Callable[[], None],
    groups: RequestGroups,
    fast: FastPath | None = None,
    limits: Concurrency = Concurrency(),
) -> None:
    """Serve booking commands and queries (queue group: any booking replica may answer).

    Commands run on the single writer and wake the relay; a booking is read from the store on a
    reader thread, so a citizen looking at theirs never waits behind a save.
    """

    def answer(
        subject: str, model: type[BaseModel], key: str, action: Callable[[Any], Any], on: Executor, saves: bool
    ) -> None:
        async def handle(command: Any) -> dict:
            try:
                result = await asyncio.get_running_loop().run_in_executor(on, action, command)
            except BookingError as error:
                return refusal(error)
            if saves:
                on_saved()
            if isinstance(result, BookingsPage):  # a page: its bookings, and where the next one starts
                return {key: _json(result.bookings), "next_cursor": result.next_cursor}
            return {key: _json(result)}

        serve(broker, subject, model, handle, queue="booking", max_workers=limits.queries)

    async def request_booking(command: RequestBooking) -> dict:
        outcome = await groups.submit(command)
        if isinstance(outcome, BookingError):
            return refusal(outcome)
        hops.name_booking(outcome.booking_id)
        if fast is not None and not command.waitlist:  # a waiting request is decided by the pipeline
            outcome = await fast.finish(outcome, command)
        return {"booking": outcome.model_dump(mode="json")}

    # Many requests in flight at once: that is what lets the grouped saves group anything.
    serve(
        broker,
        Commands.REQUEST_BOOKING,
        RequestBooking,
        request_booking,
        queue="booking",
        max_workers=limits.requests,
        hop="booking request",
    )

    # The account's own views read its cached aggregates, which only the writer may touch; they save
    # nothing, so they do not wake the relay. A booking's status, asked for most, is read from the
    # store beside the writer.
    writer, readers, accounts = threads.writer, threads.readers, app.accounts
    cancel = lambda c: app.cancel(c.caller, c.booking_id, utcnow())  # noqa: E731
    answer(Commands.CANCEL_BOOKING, CancelBooking, "booking", cancel, writer, saves=True)
    move = lambda c: app.reschedule(c.caller, c.booking_id, c.slot, utcnow())  # noqa: E731
    answer(Commands.RESCHEDULE_BOOKING, RescheduleBooking, "booking", move, writer, saves=True)
    answer(
        Commands.UPDATE_PROFILE, UpdateProfile, "profile", lambda c: accounts.update_profile(c, utcnow()), writer, True
    )
    # A sign-up rush before a release: acceptances that arrive together are saved together.
    terms: GroupCommit[AcceptTerms, TermsView | BookingError] = GroupCommit(
        lambda commands: accounts.accept_terms_all(commands, utcnow()), writer, on_saved, limits.requests, "terms"
    )

    async def accept_terms(command: AcceptTerms) -> dict:
        outcome = await terms.submit(command)
        return refusal(outcome) if isinstance(outcome, BookingError) else {"terms": outcome.model_dump(mode="json")}

    serve(broker, Commands.ACCEPT_TERMS, AcceptTerms, accept_terms, queue="booking", max_workers=limits.requests)
    answer(
        Commands.GET_BOOKING,
        GetBooking,
        "booking",
        lambda q: app.stored_view(q.booking_id, *_owner(q)),
        readers,
        saves=False,
    )
    to_device = lambda c: accounts.move_device(c.caller, utcnow())  # noqa: E731
    answer(Commands.MOVE_DEVICE, MoveDevice, "device", to_device, writer, saves=True)
    answer(
        Commands.LIST_BOOKINGS,
        ListBookings,
        "bookings",
        lambda q: accounts.bookings_page(q.caller, q.limit, q.cursor),
        writer,
        saves=False,
    )
    answer(Commands.GET_PROFILE, GetProfile, "profile", lambda q: accounts.profile(q.caller), writer, saves=False)
    answer(Commands.GET_TERMS, GetTerms, "terms", lambda q: accounts.terms(q.caller), writer, saves=False)
    registrations = lambda q: accounts.registrations(q.caller, utcnow())  # noqa: E731
    answer(Commands.GET_REGISTRATIONS, GetRegistrations, "registrations", registrations, writer, saves=False)
    pay = lambda c: app.payments.record(c, utcnow())  # noqa: E731
    answer(Commands.RECORD_PAYMENT, RecordPayment, "payment", pay, writer, saves=True)


def ask_over(nc: Client | None) -> Ask:
    """The fast path's question to quota, over core NATS request/reply."""
    if nc is None:
        raise RuntimeError("connect first: the fast path asks over the service's NATS connection")

    async def ask(subject: str, payload: bytes, timeout: float) -> bytes:
        span = hops.start("booking ask quota", hops.current(), kind=SpanKind.CLIENT, wait="ask")
        try:
            return (await nc.request(subject, payload, timeout=timeout, headers=hops.headers(span))).data
        except (NatsError, TimeoutError, OSError) as error:
            if span is not None:
                span.set_status(StatusCode.ERROR, f"no answer: {error!r}")
            raise NoAnswer(f"{subject}: {error!r}") from error
        finally:
            if span is not None:
                span.end()

    return ask


def _owner(query: GetBooking) -> tuple[Any, str | None]:
    """Whose booking the query may read, and from which device: anyone's for staff (an explicit role),
    else the caller's own, from the device their account is bound to."""
    if query.role in STAFF_ROLES:
        return None, None
    provider, _, subject = (query.account or "").partition(":")
    if not provider or not subject or query.device_id is None:
        raise AccountRequired()
    return Account.id_for(provider, subject), query.device_id


def outcome_handler(app: BookingApplication, writer: Executor, on_saved: Callable[[], None]):
    """Quota decisions and attendance (checked in, no-show), a batch at a time, one save each."""

    async def handle(messages: list[Message]) -> None:
        await hops.on_writer(writer, app.outcomes.apply, messages, utcnow())
        on_saved()

    return handle


def to_wire(event: Any, partitions: int, pseudonyms: Pseudonyms | None = None) -> Iterable[tuple[str, Message]]:
    """The wire message of one stored booking event (accounts, devices and claims stay inside).

    With `pseudonyms`, a request carries its keyed draw ids (`draw_keys.py`) for a release draw."""
    message = _message(event, pseudonyms)
    if message is not None:
        yield subject_for(message, event.office, partitions), message
    for office, moving in _move_messages(event):  # a move releases its old slot on the old office's partition
        yield subject_for(moving, office, partitions), moving


def _move_messages(event: Any) -> list[tuple[str, Message]]:
    """A reschedule's steps (`moves.py`): ask for the new slot; once it is held, confirm it (under the move's
    id, so the notifier issues its ticket) and release the old one; or release the new one if abandoned."""
    if isinstance(event, MovingBooking.MoveRequested):  # a quota request under the move's own id
        return [
            (
                event.office,
                BookingRequested(
                    message_id=derived_id("booking", event.move_id, "requested"),
                    correlation_id=event.correlation_id,
                    occurred_at=event.timestamp,
                    booking_id=event.move_id,
                    slot=Slot(office=event.office, date=event.day, session=event.session),
                    applicants=event.applicants,
                ),
            )
        ]
    if isinstance(event, MovingBooking.Moved):  # the new slot is held: the old one goes back, no cooldown
        confirmed = BookingConfirmed(
            message_id=derived_id("booking", event.originator_id, "moved-confirmed"),
            correlation_id=event.correlation_id,
            causation_id=event.causation_id,
            occurred_at=event.timestamp,
            booking_id=event.move_id,
            slot=Slot(office=event.office, date=event.day, session=event.session),
            applicants=event.applicants,
            queue_number=event.queue_number,
        )
        released = BookingCancelled(
            message_id=derived_id("booking", event.originator_id, "moved"),
            correlation_id=event.correlation_id,
            causation_id=event.causation_id,
            occurred_at=event.timestamp,
            booking_id=event.released_id,
            slot=Slot(office=event.from_office, date=event.from_day, session=event.from_session),
            was_confirmed=True,
            reason="rescheduled",
        )
        return [(event.office, confirmed), (event.from_office, released)]
    if isinstance(event, MovingBooking.MoveAbandoned):  # cancelled or voided while moving: the new slot goes back
        abandoned = BookingCancelled(
            message_id=derived_id("booking", event.move_id, "abandoned"),
            correlation_id=event.correlation_id,
            causation_id=event.causation_id,
            occurred_at=event.timestamp,
            booking_id=event.move_id,
            slot=Slot(office=event.office, date=event.day, session=event.session),
            was_confirmed=True,
            reason="rescheduled",
        )
        return [(event.office, abandoned)]
    return []


def _message(event: Any, pseudonyms: Pseudonyms | None = None) -> Message | None:
    if isinstance(event, (WaitingBooking.Waitlisted, WaitingBooking.Offered)):
        return waiting_message(event)
    if not isinstance(
        event,
        (
            Booking.Requested,
            Booking.Confirmed,
            Booking.Rejected,
            Booking.Withdrawn,
            Booking.Cancelled,
            Booking.Voided,
        ),
    ):
        return None  # attendance is the notifier's event already; booking's own record stays inside
    booking_id = event.originator_id
    holder: str = getattr(event, "holder", "")  # (not recorded before reschedules existed)
    if holder:
        booking_id = UUID(holder)  # a rescheduled booking's slot is held under its move's id
    slot = Slot(office=event.office, date=event.day, session=event.session)
    common = {"occurred_at": event.timestamp, "booking_id": booking_id, "slot": slot}
    if isinstance(event, Booking.Requested):
        return BookingRequested(
            message_id=derived_id("booking", booking_id, "requested"),
            correlation_id=event.correlation_id,
            applicants=len(event.applicants),
            waitlist=getattr(event, "waitlist", False),  # (not recorded before waitlists existed)
            fallbacks=getattr(event, "fallbacks", None) or [],  # (nor before fallbacks)
            draw_keys=draw_keys(
                pseudonyms, event.office, event.day, event.account_id, [a["nik"] for a in event.applicants]
            )
            if pseudonyms
            else [],
            **common,
        )
    if isinstance(event, Booking.Confirmed):
        return BookingConfirmed(
            message_id=derived_id("booking", booking_id, "confirmed"),
            correlation_id=event.correlation_id,
            causation_id=event.causation_id,
            applicants=event.applicants,
            queue_number=event.queue_number,
            **common,
        )
    if isinstance(event, (Booking.Rejected, Booking.Withdrawn)):
        withdrawn = isinstance(event, Booking.Withdrawn)
        return BookingRejected(
            message_id=derived_id("booking", booking_id, "withdrawn" if withdrawn else "rejected"),
            correlation_id=event.correlation_id,
            causation_id=event.causation_id,
            reason="office_closed" if withdrawn else event.reason,
            **common,
        )
    if isinstance(event, Booking.Voided):  # not paid in time: released like a cancellation, with its reason
        return BookingCancelled(
            message_id=derived_id("booking", booking_id, "voided"),
            correlation_id=event.correlation_id,
            was_confirmed=True,
            reason=event.reason,
            **common,
        )
    return BookingCancelled(
        message_id=derived_id("booking", booking_id, "cancelled"),
        correlation_id=event.correlation_id,
        was_confirmed=event.was_confirmed,
        **common,
    )
