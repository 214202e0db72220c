"""Bookings: create (idempotent; sold-out fast path; waits briefly for the outcome), get, cancel."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import JSONResponse

from shared.events import (
    BookingView,
    Caller,
    CancelBooking,
    Commands,
    GetBooking,
    RequestBooking,
    RescheduleBooking,
    Slot,
)
from shared.runtime import hops

from .admission import admitted
from .auth import Identity
from .deps import DeviceId, Gateway, GatewayDep, Who
from .refusals import BookingBody, at_once, refusal
from .routes_offices import known_office

router = APIRouter(prefix="/v1", tags=["bookings"])
IdempotencyKey = Annotated[
    str, Header(min_length=8, max_length=128, description="Same key, same booking: retries are safe.")
]
# A booking not decided yet is followed by a long poll (`?wait=`, answered the moment the outcome
# exists) or by its event stream: nobody polls on a fixed period.
LONG_POLL_SECONDS = 25


async def admission(request: Request, gw: GatewayDep, who: Who) -> None:
    """Spend the attempt's budgets, unless the door did (it lets on what it could not read, unchecked)."""
    limited = await admitted(gw.admission, request.scope, who.account)
    if limited is not None:
        raise limited


def caller(who: Identity, device_id: str) -> Caller:
    return Caller(provider=who.provider, subject=who.subject, device_id=device_id)


def refuse_at_once(gw: Gateway, who: Identity, key: str, body: BookingBody) -> None:
    """The sold-out fast path (`refusals.py`), for a request that came past the door (`door.py`)."""
    if gw.availability is None:
        return
    reason = at_once(gw, who.account, key, known_office(body.office), body.date, body.session.value)
    if reason is not None:
        raise refusal(gw, reason)


def owned(who: Identity, device_id: str, booking_id: uuid.UUID | str) -> GetBooking:
    """The query for one of the caller's bookings, read from the device their account is bound to."""
    return GetBooking(booking_id=booking_id, account=who.account, device_id=device_id)


async def final_or_pending(gw: Gateway, who: Identity, device_id: str, booking: dict, wait: float) -> dict:
    """The booking once decided, when that happens within `wait` seconds; else as it is."""
    if booking["status"] != "requested" or wait <= 0:
        return booking
    outcome = await gw.bus.outcomes.wait(uuid.UUID(booking["booking_id"]), wait)
    gw.metrics.outcome_waits.labels("decided" if outcome else "timeout").inc()
    if outcome is None:
        return booking
    return (await gw.ask(Commands.GET_BOOKING, owned(who, device_id, booking["booking_id"])))["booking"]


@router.post(
    "/bookings",
    status_code=201,
    response_model=BookingView,
    summary="Book a session (201 when decided, 202 while pending)",
    responses={
        202: {
            "model": BookingView,
            "description": "Recorded, not decided yet (rare: the fast path had no answer in time). The Location "
            "answers the moment it is decided (a long poll), and its events stream every change.",
        }
    },
)
async def create_booking(
    body: BookingBody,
    gw: GatewayDep,
    who: Who,
    device_id: DeviceId,
    idempotency_key: IdempotencyKey,
    _admitted: Annotated[None, Depends(admission)],
) -> JSONResponse:
    with gw.metrics.bookings_in_flight.track_inprogress():  # the queue depth the operators' console shows
        return await book(gw, who, device_id, idempotency_key, body)


async def book(gw: Gateway, who: Identity, device_id: str, idempotency_key: str, body: BookingBody) -> JSONResponse:
    refuse_at_once(gw, who, idempotency_key, body)
    command = RequestBooking(
        caller=caller(who, device_id),
        idempotency_key=idempotency_key,
        slot={"office": body.office, "date": body.date, "session": body.session},
        kk_number=body.kk_number,
        applicants=body.applicants,
        fallbacks=body.fallbacks,
    )
    booking = (await gw.ask(Commands.REQUEST_BOOKING, command))["booking"]
    answer = hops.start("gateway answer", hops.current(), wait="queue", booking=booking["booking_id"])
    hops.name_booking(booking["booking_id"])  # `paspor trace BOOKING-ID` finds the trace by it
    # In its date's waiting room it is decided when the release draw is made: answer 202 at once.
    wait = 0 if booking.get("waiting_for_draw") else gw.outcome_wait
    booking = await final_or_pending(gw, who, device_id, booking, wait)
    if answer is not None:
        answer.set_attribute("paspor.status", booking["status"])
        answer.end()
    location = f"/v1/bookings/{booking['booking_id']}"
    headers = {"Location": location, "Link": f"<{location}/events>; rel=monitor"}
    if booking["status"] == "requested":
        headers["Location"] = f"{location}?wait={LONG_POLL_SECONDS}"
        return JSONResponse(booking, status_code=202, headers=headers)
    return JSONResponse(booking, status_code=201, headers=headers)


@router.get(
    "/bookings/{booking_id}",
    response_model=BookingView,
    summary="One of my bookings (with ?wait=S: once decided, or after S seconds)",
)
async def get_booking(
    booking_id: uuid.UUID,
    gw: GatewayDep,
    who: Who,
    device_id: DeviceId,
    wait: Annotated[
        float,
        Query(
            ge=0,
            le=LONG_POLL_SECONDS,
            description="While it is requested, answer the moment it is decided, "
            "waiting at most this many seconds (a long poll).",
        ),
    ] = 0,
) -> dict:
    booking = (await gw.ask(Commands.GET_BOOKING, owned(who, device_id, booking_id)))["booking"]
    return await final_or_pending(gw, who, device_id, booking, wait)


@router.post("/bookings/{booking_id}/cancel", summary="Cancel my upcoming booking")
async def cancel_booking(booking_id: uuid.UUID, gw: GatewayDep, who: Who, device_id: DeviceId) -> BookingView:
    command = CancelBooking(caller=caller(who, device_id), booking_id=booking_id)
    return (await gw.ask(Commands.CANCEL_BOOKING, command))["booking"]


@router.post(
    "/bookings/{booking_id}/reschedule",
    summary="Move my confirmed booking to another slot (once, until the day before its date)",
    description="The new slot is asked of its office's quota while the old one stays held: the answer shows the "
    "booking still in its old slot, with the move requested in its history. Once the new slot is given the "
    "booking moves and the old slot is released; if it is refused, the booking stays as it was. A second "
    "reschedule is refused (`already_rescheduled`), as is one from the day before the appointment "
    "(`reschedule_too_late`, office time). No cooldown, and no new registration is counted.",
)
async def reschedule_booking(
    booking_id: uuid.UUID, slot: Slot, gw: GatewayDep, who: Who, device_id: DeviceId
) -> BookingView:
    command = RescheduleBooking(caller=caller(who, device_id), booking_id=booking_id, slot=slot)
    return (await gw.ask(Commands.RESCHEDULE_BOOKING, command))["booking"]
