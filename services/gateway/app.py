"""The HTTP API for the mobile and web frontends (versioned under /v1).

No `from __future__ import annotations` here: FastAPI resolves the routes' dependencies
from the annotations at definition time.
"""


import base64
import datetime as dt
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Header, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from shared.events import (
    Applicant,
    CancelBooking,
    Caller,
    Commands,
    GetBooking,
    GetCalendar,
    GetTicket,
    RequestBooking,
    Session,
)
from shared.offices import UnknownOffice, load_offices, nearest_offices, office_by_code, offices_in_province

from .auth import DevIssuer, Identity, TokenVerifier, Unauthenticated
from .messaging import Bus, ServiceUnavailable
from .problems import ProblemError, on_problem, on_validation


class BookingBody(BaseModel):
    """What a citizen submits to book."""

    model_config = ConfigDict(extra="forbid")
    office: str = Field(description="Office code.", examples=["JKT-SEL"])
    date: dt.date = Field(description="Appointment date.")
    session: Session = Field(description="pagi or siang.")
    kk_number: str = Field(description="Family card number, 16 digits.", examples=["3174010101200001"])
    applicants: list[Applicant] = Field(min_length=1, max_length=5, description="One to five applicants.")


class TokenBody(BaseModel):
    """DEVELOPMENT ONLY: who to sign a token for."""

    model_config = ConfigDict(extra="forbid")
    subject: str = Field(min_length=1, max_length=200, description="User id (e.g. an email).")
    name: str = Field(default="", max_length=120, description="Display name.")


def build_api(bus: Bus, verifier: TokenVerifier, dev_issuer: DevIssuer | None, outcome_wait: float = 3.0) -> FastAPI:
    """The FastAPI application, wired to the bus."""
    api = FastAPI(title="Antrian Paspor", version="1.0.0", description="Passport appointment booking API.")
    api.add_exception_handler(ProblemError, on_problem)
    api.add_exception_handler(RequestValidationError, on_validation)
    v1 = APIRouter(prefix="/v1")

    def identity(authorization: Annotated[str | None, Header()] = None) -> Identity:
        try:
            return verifier.verify(authorization)
        except Unauthenticated as error:
            raise ProblemError("unauthenticated", str(error), "Token tidak valid atau tidak ada.") from None

    def device(x_device_id: Annotated[str, Header(min_length=8, max_length=128, description="Stable device id.")]) -> str:
        return x_device_id

    async def ask(subject: str, message: BaseModel) -> dict[str, Any]:
        try:
            reply = await bus.ask(subject, message)
        except ServiceUnavailable:
            raise ProblemError("service_unavailable", "The service is busy; try again.", "Layanan sibuk; coba lagi.") from None
        if reply.get("problem"):
            raise ProblemError.from_reply(reply["problem"])
        return reply

    @api.get("/health", tags=["ops"])
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @api.get("/ready", tags=["ops"])
    async def ready() -> JSONResponse:
        return JSONResponse({"ready": bus.ready}, status_code=200 if bus.ready else 503)

    if dev_issuer is not None:
        @v1.post("/dev/token", tags=["development"], summary="DEVELOPMENT ONLY: get a signed token")
        async def dev_token(body: TokenBody) -> dict[str, str]:
            return {"access_token": dev_issuer.issue(body.subject, body.name), "token_type": "bearer",
                    "warning": "development issuer: never enable in production"}

    @v1.get("/offices", tags=["offices"])
    async def offices(
        province: str | None = None,
        lat: Annotated[float | None, Query(ge=-90, le=90)] = None,
        lon: Annotated[float | None, Query(ge=-180, le=180)] = None,
        limit: Annotated[int, Query(ge=1, le=200)] = 200,
    ) -> list[dict[str, Any]]:
        if (lat is None) != (lon is None):
            raise ProblemError("invalid_request", "Give both lat and lon.", "Isi lat dan lon.", status=422)
        if lat is not None and lon is not None:
            return [o.model_dump() | {"distance_km": round(d, 1)} for o, d in nearest_offices(lat, lon, limit)]
        chosen = offices_in_province(province) if province else list(load_offices())
        return [o.model_dump() for o in chosen[:limit]]

    @v1.get("/offices/{code}/calendar", tags=["offices"])
    async def calendar(code: str, start: dt.date, end: dt.date) -> dict[str, Any]:
        try:
            office_by_code(code)
        except UnknownOffice:
            raise ProblemError("unknown_office", f"Unknown office {code}.", f"Kantor {code} tidak dikenal.") from None
        return (await ask(Commands.GET_CALENDAR, GetCalendar(office=code, start=start, end=end)))["calendar"]

    @v1.post("/bookings", tags=["bookings"], status_code=201)
    async def create_booking(
        body: BookingBody,
        request: Request,
        who: Annotated[Identity, Depends(identity)],
        device_id: Annotated[str, Depends(device)],
        idempotency_key: Annotated[str, Header(min_length=8, max_length=128)],
    ) -> JSONResponse:
        command = RequestBooking(
            caller=Caller(provider=who.provider, subject=who.subject, device_id=device_id),
            idempotency_key=idempotency_key, slot={"office": body.office, "date": body.date, "session": body.session},
            kk_number=body.kk_number, applicants=body.applicants,
        )
        booking = (await ask(Commands.REQUEST_BOOKING, command))["booking"]
        if booking["status"] == "requested":
            outcome = await bus.outcomes.wait(uuid.UUID(booking["booking_id"]), outcome_wait)
            if outcome is not None:
                booking = (await ask(Commands.GET_BOOKING, GetBooking(booking_id=booking["booking_id"], account=who.account)))["booking"]
        location = f"/v1/bookings/{booking['booking_id']}"
        status = 202 if booking["status"] == "requested" else 201
        return JSONResponse(booking, status_code=status, headers={"Location": location})

    @v1.get("/bookings/{booking_id}", tags=["bookings"])
    async def get_booking(booking_id: uuid.UUID, who: Annotated[Identity, Depends(identity)]) -> dict[str, Any]:
        return (await ask(Commands.GET_BOOKING, GetBooking(booking_id=booking_id, account=who.account)))["booking"]

    @v1.post("/bookings/{booking_id}/cancel", tags=["bookings"])
    async def cancel_booking(
        booking_id: uuid.UUID, who: Annotated[Identity, Depends(identity)], device_id: Annotated[str, Depends(device)]
    ) -> dict[str, Any]:
        caller = Caller(provider=who.provider, subject=who.subject, device_id=device_id)
        return (await ask(Commands.CANCEL_BOOKING, CancelBooking(caller=caller, booking_id=booking_id)))["booking"]

    async def owned_ticket(booking_id: uuid.UUID, who: Identity, fmt: str) -> dict[str, Any]:
        await ask(Commands.GET_BOOKING, GetBooking(booking_id=booking_id, account=who.account))  # ownership
        return await ask(Commands.GET_TICKET, GetTicket(booking_id=booking_id, format=fmt))

    @v1.get("/bookings/{booking_id}/ticket", tags=["tickets"])
    async def ticket(booking_id: uuid.UUID, who: Annotated[Identity, Depends(identity)]) -> dict[str, Any]:
        return (await owned_ticket(booking_id, who, "json"))["ticket"]

    @v1.get("/bookings/{booking_id}/ticket.png", tags=["tickets"], response_class=Response,
            responses={200: {"content": {"image/png": {}}}})
    async def ticket_png(booking_id: uuid.UUID, who: Annotated[Identity, Depends(identity)]) -> Response:
        reply = await owned_ticket(booking_id, who, "png")
        return Response(base64.b64decode(reply["png"]), media_type="image/png",
                        headers={"Cache-Control": "private, max-age=86400"})

    api.include_router(v1)
    return api
