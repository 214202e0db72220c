"""The waitlist: wait for a place in a full session, and accept the place offered when one frees up."""

from __future__ import annotations

import asyncio
import uuid

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from shared.events import BookingView, Commands, RequestBooking
from shared.events.waitlist import AcceptOffer

from .auth import Identity
from .deps import DeviceId, Gateway, GatewayDep, Who
from .refusals import BookingBody
from .routes_booking_events import current
from .routes_bookings import IdempotencyKey, caller
from .routes_offices import known_office

router = APIRouter(prefix="/v1", tags=["waitlist"])


async def past_requested(gw: Gateway, who: Identity, device: str, booking: dict, wait: float) -> dict:
    """The booking once quota placed it (waitlisted, or reserved at once), or as it is after `wait` seconds."""
    if booking["status"] != "requested" or wait <= 0:
        return booking
    booking_id = uuid.UUID(booking["booking_id"])
    changed = gw.bus.changes.follow(booking_id)  # before the look, so that no change slips between
    try:
        latest = await current(gw, who, device, booking_id)
        if latest["status"] == "requested":
            try:
                await asyncio.wait_for(changed.wait(), wait)
            except TimeoutError:
                return latest
            latest = await current(gw, who, device, booking_id)
        return latest
    finally:
        gw.bus.changes.unfollow(booking_id, changed)


@router.post(
    "/waitlist",
    status_code=202,
    response_model=BookingView,
    summary="Wait for a place in a full session (202 while waiting; 201 if a place was free)",
    responses={
        201: {"model": BookingView, "description": "The session had a free place: booked as by POST /v1/bookings."},
    },
)
async def join_waitlist(
    body: BookingBody, gw: GatewayDep, who: Who, device_id: DeviceId, idempotency_key: IdempotencyKey
) -> JSONResponse:
    """A booking that, if its session is full, waits on the session's waitlist instead of being refused.

    It follows the booking rules (one upcoming booking per account, one per NIK). When a place frees up it
    is offered to the first one waiting, held for `PASPOR_QUOTA_HOLD_SECONDS` (15 minutes): the booking
    becomes `offered` with `hold_until` (its events stream says so), and `POST .../accept` confirms it.
    """
    known_office(body.office)  # an unknown code is refused here, as a booking's is
    command = RequestBooking(
        caller=caller(who, device_id),
        idempotency_key=idempotency_key,
        slot={"office": body.office, "date": body.date, "session": body.session},
        kk_number=body.kk_number,
        applicants=body.applicants,
        fallbacks=body.fallbacks,  # honoured if it joins a release draw, as a booking's are
        waitlist=True,
    )
    booking = (await gw.ask(Commands.REQUEST_BOOKING, command))["booking"]
    booking = await past_requested(gw, who, device_id, booking, gw.outcome_wait)
    location = f"/v1/bookings/{booking['booking_id']}"
    headers = {"Location": location, "Link": f"<{location}/events>; rel=monitor"}
    waiting = booking["status"] in ("requested", "waitlisted", "offered")
    return JSONResponse(booking, status_code=202 if waiting else 201, headers=headers)


@router.post(
    "/bookings/{booking_id}/accept",
    response_model=BookingView,
    summary="Accept the place offered to my waiting booking (before its hold_until)",
)
async def accept_offer(booking_id: uuid.UUID, gw: GatewayDep, who: Who, device_id: DeviceId) -> dict:
    """Confirmed with the held queue number; `rejected` (`hold_lapsed`) if the deadline passed first."""
    command = AcceptOffer(caller=caller(who, device_id), booking_id=booking_id)
    return (await gw.ask(Commands.ACCEPT_OFFER, command))["booking"]
