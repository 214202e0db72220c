"""A booking's status as server-sent events: one event now, then one per change, until it is settled."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator

from fastapi import APIRouter
from fastapi.responses import StreamingResponse

from shared.events import Commands

from .auth import Identity
from .deps import DeviceId, Gateway, GatewayDep, Who
from .problems import ProblemError
from .routes_bookings import owned

router = APIRouter(prefix="/v1", tags=["bookings"])
SETTLED = {"rejected", "cancelled", "checked_in", "no_show"}
KEEP_ALIVE_SECONDS = 15.0


async def current(gw: Gateway, who: Identity, device: str, booking_id: uuid.UUID) -> dict:
    """The booking now, read as its owner from their bound device (checked again at every change)."""
    return (await gw.ask(Commands.GET_BOOKING, owned(who, device, booking_id)))["booking"]


def sse(event: str, data: dict) -> str:
    return f"event: {event}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n"


async def status_events(
    gw: Gateway, who: Identity, device: str, booking_id: uuid.UUID, changed: asyncio.Event, first: dict
) -> AsyncIterator[str]:
    booking, deadline = first, time.monotonic() + gw.sse_seconds
    yield sse("status", booking)
    while booking["status"] not in SETTLED and (left := deadline - time.monotonic()) > 0:
        try:
            await asyncio.wait_for(changed.wait(), min(KEEP_ALIVE_SECONDS, left))
        except TimeoutError:
            yield ": keep-alive\n\n"
        changed.clear()
        try:
            latest = await current(gw, who, device, booking_id)
        except ProblemError as error:
            yield sse("problem", {"code": error.code, "detail": error.message_en, "detail_id": error.message_id})
            return
        if latest["status"] != booking["status"]:
            yield sse("status", latest)
        booking = latest


@router.get(
    "/bookings/{booking_id}/events",
    response_class=StreamingResponse,
    summary="Follow my booking's status (server-sent events)",
    responses={
        200: {
            "content": {
                "text/event-stream": {"example": 'event: status\ndata: {"status": "confirmed", "queue_number": 37}\n\n'}
            },
            "description": "`status` events with the booking; ends once it is settled.",
        }
    },
)
async def booking_events(booking_id: uuid.UUID, gw: GatewayDep, who: Who, device: DeviceId) -> StreamingResponse:
    changed = gw.bus.changes.follow(booking_id)  # before the first look, so that no change slips between
    try:
        first = await current(gw, who, device, booking_id)
    except ProblemError:
        gw.bus.changes.unfollow(booking_id, changed)
        raise

    async def events() -> AsyncIterator[str]:
        try:
            async for chunk in status_events(gw, who, device, booking_id, changed, first):
                yield chunk
        finally:
            gw.bus.changes.unfollow(booking_id, changed)

    return StreamingResponse(
        events(), media_type="text/event-stream", headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    )
