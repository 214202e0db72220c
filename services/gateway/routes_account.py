"""The caller's account: profile, terms and conditions, registrations left, and their bookings."""

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, ConfigDict, Field

from shared.events import (
    AcceptTerms,
    Caller,
    Commands,
    DeviceView,
    GetProfile,
    GetRegistrations,
    GetTerms,
    ListBookings,
    MoveDevice,
    UpdateProfile,
)

from .auth import Identity
from .deps import DeviceId, Gateway, GatewayDep, Who
from .problems import ProblemError

router = APIRouter(prefix="/v1", tags=["account"])


class ProfileBody(BaseModel):
    """The account holder's data (checked by the booking service: NIK structure, KK, phone)."""

    model_config = ConfigDict(extra="forbid")
    full_name: str = Field(
        min_length=1, max_length=120, description="Full name as on the KTP.", examples=["Siti Aminah"]
    )
    nik: str = Field(min_length=1, max_length=32, description="NIK, 16 digits.", examples=["3525015705900001"])
    kk_number: str = Field(min_length=1, max_length=32, description="Family card number, 16 digits.")
    phone: str = Field(min_length=6, max_length=24, description="08xx, 628xx or +628xx.", examples=["0812-3456-7890"])
    email: str = Field(min_length=3, max_length=254, description="E-mail address.")
    birth_date: dt.date = Field(description="Date of birth (as encoded in the NIK).")


class TermsBody(BaseModel):
    """Which version of the terms and conditions the caller accepts."""

    model_config = ConfigDict(extra="forbid")
    version: str = Field(min_length=1, max_length=40, description="The version shown to the caller.")


def caller(who: Identity, device_id: str) -> Caller:
    return Caller(provider=who.provider, subject=who.subject, device_id=device_id)


@router.get("/me")
async def get_profile(gw: GatewayDep, who: Who, device_id: DeviceId) -> dict[str, Any]:
    profile = (await gw.ask(Commands.GET_PROFILE, GetProfile(caller=caller(who, device_id))))["profile"]
    if profile is None:
        raise ProblemError("profile_not_found", "No profile yet: fill it in first.", "Profil belum diisi.", status=404)
    return profile


@router.put("/me")
async def put_profile(body: ProfileBody, gw: GatewayDep, who: Who, device_id: DeviceId) -> dict[str, Any]:
    command = UpdateProfile(caller=caller(who, device_id), **body.model_dump())
    return (await gw.ask(Commands.UPDATE_PROFILE, command))["profile"]


@router.get("/me/terms")
async def get_terms(gw: GatewayDep, who: Who, device_id: DeviceId) -> dict[str, Any]:
    return (await gw.ask(Commands.GET_TERMS, GetTerms(caller=caller(who, device_id))))["terms"]


@router.post("/me/terms")
async def accept_terms(body: TermsBody, gw: GatewayDep, who: Who, device_id: DeviceId) -> dict[str, Any]:
    command = AcceptTerms(caller=caller(who, device_id), version=body.version)
    return (await gw.ask(Commands.ACCEPT_TERMS, command))["terms"]


@router.get("/me/registrations")
async def registrations(gw: GatewayDep, who: Who, device_id: DeviceId) -> dict[str, Any]:
    return (await gw.ask(Commands.GET_REGISTRATIONS, GetRegistrations(caller=caller(who, device_id))))["registrations"]


PageLimit = Annotated[int, Query(ge=1, le=200, description="Bookings a page holds at most (default 50).")]
PageCursor = Annotated[
    int | None,
    Query(ge=1, description="The next page: the X-Next-Cursor header of the page before (none: the newest)."),
]


@router.get("/bookings")
async def my_bookings(
    gw: GatewayDep, who: Who, device_id: DeviceId, response: Response, limit: PageLimit = 50, cursor: PageCursor = None
) -> list[dict[str, Any]]:
    """The caller's bookings, newest first, a page at a time; `X-Next-Cursor` names the next page, if any."""
    query = ListBookings(caller=caller(who, device_id), limit=limit, cursor=cursor)
    reply = await gw.ask(Commands.LIST_BOOKINGS, query)
    if (after := reply.get("next_cursor")) is not None:
        response.headers["X-Next-Cursor"] = str(after)
        response.headers["Link"] = f'</v1/bookings?limit={limit}&cursor={after}>; rel="next"'
    return reply["bookings"]


@router.post(
    "/me/device",
    response_model=DeviceView,
    summary="Move my account to this device (a new phone): sign in again on it first",
    responses={
        401: {"description": "The token was not issued recently enough: sign in again on this device."},
        409: {"description": "The account moved recently (at most once per PASPOR_BOOKING_DEVICE_MOVE_DAYS)."},
    },
)
async def move_device(gw: GatewayDep, who: Who, device_id: DeviceId) -> dict[str, Any]:
    """The recovery step of a lost or replaced phone: the account leaves its old device for this one.

    Called from the new device, with its proof and a token issued in the last minutes. The old device
    reads nothing from then on; the move is an event on the account that `paspor audit` reports.
    """
    check_fresh_sign_in(gw, who)
    return (await gw.ask(Commands.MOVE_DEVICE, MoveDevice(caller=caller(who, device_id))))["device"]


def check_fresh_sign_in(gw: Gateway, who: Identity) -> None:
    age = gw.verifier.clock().timestamp() - who.issued_at if who.issued_at is not None else None
    if age is None or age > gw.device_move_token_age:
        limit = f"{gw.device_move_token_age:g}"
        raise ProblemError(
            "fresh_sign_in_required",
            f"Moving the account to this device needs a sign-in from the last {limit} seconds: sign in again here.",
            f"Memindahkan akun ke perangkat ini memerlukan masuk ulang ({limit} detik terakhir): masuk lagi di sini.",
        )
