"""Tickets of one's own bookings (JSON, PNG, SVG, calendar file) and the officers' check-in."""

import base64
import uuid
from typing import Any

from fastapi import APIRouter
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field, model_validator
from starlette.concurrency import run_in_threadpool

from shared.events import CheckIn, Commands, GetTicket
from shared.qr import NoQrCode, read_qr

from .auth import Identity
from .deps import DeviceId, Gateway, GatewayDep, Officer, Who
from .messaging import ServiceUnavailable
from .problems import ProblemError
from .routes_bookings import owned

router = APIRouter(prefix="/v1", tags=["tickets"])
CHECKIN_PATH = "/v1/checkin"
IMAGE_MAX_CHARS = 4_000_000  # base64 of about 3 MB; the guard lets this route's body be that large
PRIVATE = {"Cache-Control": "private, max-age=86400"}
CHECKIN_STATUS = {
    "already_checked_in": 409,
    "booking_cancelled": 409,
    "no_show": 409,
    "ticket_unknown": 404,
    "malformed": 422,
    "unknown_key": 422,
    "revoked_key": 422,
    "bad_signature": 422,
    "expired": 422,
    "wrong_office": 422,
    "wrong_day": 422,
    "wrong_session": 422,
}


async def owned_ticket(gw: Gateway, booking_id: uuid.UUID, who: Identity, device: str, fmt: str) -> dict[str, Any]:
    booking = await gw.ask(Commands.GET_BOOKING, owned(who, device, booking_id))  # the owner, on their bound device
    return await gw.ask(Commands.GET_TICKET, GetTicket(booking_id=ticket_of(booking, booking_id), format=fmt))


def ticket_of(booking: dict[str, Any], booking_id: uuid.UUID) -> Any:
    """The id a booking's ticket is issued under: a rescheduled booking's is its move's (services/booking/moves.py)."""
    return booking["booking"].get("ticket_for") or booking_id


@router.get("/bookings/{booking_id}/ticket")
async def ticket(booking_id: uuid.UUID, gw: GatewayDep, who: Who, device: DeviceId) -> dict[str, Any]:
    """The signed ticket, with what its booking owes (billing code, amount, deadline) while it is held."""
    booking = await gw.ask(Commands.GET_BOOKING, owned(who, device, booking_id))  # the owner, on their bound device
    ticket_id = ticket_of(booking, booking_id)
    issued = (await gw.ask(Commands.GET_TICKET, GetTicket(booking_id=ticket_id, format="json")))["ticket"]
    payment = booking["booking"].get("payment")
    return issued | {"payment": payment} if payment else issued


@router.get(
    "/bookings/{booking_id}/ticket.png", response_class=Response, responses={200: {"content": {"image/png": {}}}}
)
async def ticket_png(booking_id: uuid.UUID, gw: GatewayDep, who: Who, device: DeviceId) -> Response:
    """The QR code with the schedule beside it."""
    reply = await owned_ticket(gw, booking_id, who, device, "png")
    return Response(base64.b64decode(reply["png"]), media_type="image/png", headers=PRIVATE)


@router.get(
    "/bookings/{booking_id}/ticket.svg", response_class=Response, responses={200: {"content": {"image/svg+xml": {}}}}
)
async def ticket_svg(booking_id: uuid.UUID, gw: GatewayDep, who: Who, device: DeviceId) -> Response:
    """The QR code with the schedule beside it, as a vector image."""
    reply = await owned_ticket(gw, booking_id, who, device, "svg")
    return Response(reply["svg"], media_type="image/svg+xml", headers=PRIVATE)


@router.get(
    "/bookings/{booking_id}/ticket.ics", response_class=Response, responses={200: {"content": {"text/calendar": {}}}}
)
async def ticket_ics(booking_id: uuid.UUID, gw: GatewayDep, who: Who, device: DeviceId) -> Response:
    """The appointment as a calendar file."""
    reply = await owned_ticket(gw, booking_id, who, device, "ics")
    headers = PRIVATE | {"Content-Disposition": f'attachment; filename="paspor-{booking_id.hex[:8]}.ics"'}
    return Response(reply["ics"], media_type="text/calendar; charset=utf-8", headers=headers)


class CheckInBody(BaseModel):
    """A scanned ticket: its QR payload, or a photo of it (PNG or JPEG, base64)."""

    model_config = ConfigDict(extra="forbid")
    payload: str | None = Field(default=None, max_length=2048, description="The QR payload as scanned.")
    image: str | None = Field(
        default=None, max_length=IMAGE_MAX_CHARS, description="A PNG/JPEG of the QR code, base64 (about 3 MB at most)."
    )

    @model_validator(mode="after")
    def _one_of(self) -> "CheckInBody":
        if (self.payload is None) == (self.image is None):
            raise ValueError("give either payload or image")
        return self


@router.post(CHECKIN_PATH.removeprefix("/v1"), tags=["office"])
async def check_in(body: CheckInBody, gw: GatewayDep, who: Officer) -> dict[str, Any]:
    """Office staff: admit a ticket's holder (genuine, for this office, today's session, still confirmed)."""
    if who.role != "officer" or not who.office:
        raise ProblemError(
            "forbidden",
            "Only office staff can check tickets in.",
            "Hanya petugas kantor yang dapat melakukan check-in.",
        )
    # Decoding a photo takes tens of milliseconds of CPU: never on the event loop.
    payload = body.payload if body.payload is not None else await run_in_threadpool(_decode_image, body.image or "")
    try:
        reply = await gw.bus.ask(Commands.CHECK_IN, CheckIn(payload=payload, officer=who.account, office=who.office))
    except ServiceUnavailable:
        raise ProblemError(
            "service_unavailable", "The service is busy; try again.", "Layanan sibuk; coba lagi."
        ) from None
    if problem := reply.get("problem"):
        first = {"checked_in": reply["checkin"]} if reply.get("checkin") else {}
        raise ProblemError(
            problem["code"],
            problem["message_en"],
            problem["message_id"],
            status=CHECKIN_STATUS.get(problem["code"], 422),
            **first,
        )
    return reply["checkin"]


def _decode_image(image: str) -> str:
    try:
        return read_qr(base64.b64decode(image, validate=True))
    except (ValueError, NoQrCode) as error:
        raise ProblemError(
            "malformed",
            f"No ticket QR code could be read from the image: {error}",
            "Kode QR tiket tidak terbaca dari gambar.",
            status=422,
        ) from None
