"""Bookings: create (idempotent, waits briefly for the outcome), get, cancel."""

import datetime as dt
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Header
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from shared.events import Applicant, CancelBooking, Caller, Commands, GetBooking, RequestBooking, Session

from .deps import DeviceId, GatewayDep, Who

router = APIRouter(prefix="/v1", tags=["bookings"])


class BookingBody(BaseModel):
    """What a citizen submits to book."""

    model_config = ConfigDict(extra="forbid")
    office: str = Field(description="Office code.", examples=["JKT-SEL"])
    date: dt.date = Field(description="Appointment date.")
    session: Session = Field(description="pagi or siang.")
    kk_number: str = Field(description="Family card number, 16 digits.", examples=["3174010101200001"])
    applicants: list[Applicant] = Field(min_length=1, max_length=5, description="One to five applicants.")


@router.post("/bookings", status_code=201)
async def create_booking(
    body: BookingBody, gw: GatewayDep, who: Who, device_id: DeviceId,
    idempotency_key: Annotated[str, Header(min_length=8, max_length=128)],
) -> JSONResponse:
    command = RequestBooking(
        caller=Caller(provider=who.provider, subject=who.subject, device_id=device_id),
        idempotency_key=idempotency_key, slot={"office": body.office, "date": body.date, "session": body.session},
        kk_number=body.kk_number, applicants=body.applicants,
    )
    booking = (await gw.ask(Commands.REQUEST_BOOKING, command))["booking"]
    if booking["status"] == "requested":
        outcome = await gw.bus.outcomes.wait(uuid.UUID(booking["booking_id"]), gw.outcome_wait)
        if outcome is not None:
            query = GetBooking(booking_id=booking["booking_id"], account=who.account)
            booking = (await gw.ask(Commands.GET_BOOKING, query))["booking"]
    status = 202 if booking["status"] == "requested" else 201
    return JSONResponse(booking, status_code=status, headers={"Location": f"/v1/bookings/{booking['booking_id']}"})


@router.get("/bookings/{booking_id}")
async def get_booking(booking_id: uuid.UUID, gw: GatewayDep, who: Who) -> dict[str, Any]:
    return (await gw.ask(Commands.GET_BOOKING, GetBooking(booking_id=booking_id, account=who.account)))["booking"]


@router.post("/bookings/{booking_id}/cancel")
async def cancel_booking(booking_id: uuid.UUID, gw: GatewayDep, who: Who, device_id: DeviceId) -> dict[str, Any]:
    caller = Caller(provider=who.provider, subject=who.subject, device_id=device_id)
    return (await gw.ask(Commands.CANCEL_BOOKING, CancelBooking(caller=caller, booking_id=booking_id)))["booking"]
