"""Tickets of one's own bookings: JSON and PNG."""

import base64
import uuid
from typing import Any

from fastapi import APIRouter
from fastapi.responses import Response

from shared.events import Commands, GetBooking, GetTicket

from .auth import Identity
from .deps import Gateway, GatewayDep, Who

router = APIRouter(prefix="/v1", tags=["tickets"])


async def owned_ticket(gw: Gateway, booking_id: uuid.UUID, who: Identity, fmt: str) -> dict[str, Any]:
    await gw.ask(Commands.GET_BOOKING, GetBooking(booking_id=booking_id, account=who.account))  # ownership
    return await gw.ask(Commands.GET_TICKET, GetTicket(booking_id=booking_id, format=fmt))


@router.get("/bookings/{booking_id}/ticket")
async def ticket(booking_id: uuid.UUID, gw: GatewayDep, who: Who) -> dict[str, Any]:
    return (await owned_ticket(gw, booking_id, who, "json"))["ticket"]


@router.get("/bookings/{booking_id}/ticket.png", response_class=Response, responses={200: {"content": {"image/png": {}}}})
async def ticket_png(booking_id: uuid.UUID, gw: GatewayDep, who: Who) -> Response:
    reply = await owned_ticket(gw, booking_id, who, "png")
    return Response(base64.b64decode(reply["png"]), media_type="image/png", headers={"Cache-Control": "private, max-age=86400"})
