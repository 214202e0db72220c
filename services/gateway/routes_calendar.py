"""The quota calendar ("data kuota dan pengantri") and the nearest office with a free slot."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from shared.events import Calendar, Commands, GetCalendar, Session, SessionAvailability, utcnow
from shared.offices import nearest_offices

from .deps import GatewayDep
from .problems import ProblemError
from .routes_offices import Latitude, Longitude, OfficeOut, known_office

router = APIRouter(prefix="/v1", tags=["offices"])
MAX_DAYS = 92
Start = Annotated[dt.date, Query(description="First date, inclusive.")]
End = Annotated[dt.date, Query(description="Last date, inclusive (at most 92 days after start).")]


class FreeSlot(BaseModel):
    """An office and its first session with places left."""

    office: OfficeOut = Field(description="The office, with its distance.")
    session: SessionAvailability = Field(description="Its first open session in the dates asked.")


def check_range(start: dt.date, end: dt.date) -> None:
    if not 0 <= (end - start).days < MAX_DAYS:
        raise ProblemError(
            "invalid_range",
            "Invalid date range (start..end, at most 92 days).",
            "Rentang tanggal tidak valid (maks. 92 hari).",
        )


@router.get("/offices/{code}/calendar", summary="Capacity, booked and remaining per date and session")
async def calendar(code: str, start: Start, end: End, gw: GatewayDep) -> Calendar:
    office = known_office(code)
    check_range(start, end)
    if gw.availability is None:  # no read model: ask the quota service
        return Calendar(
            **(await gw.ask(Commands.GET_CALENDAR, GetCalendar(office=code, start=start, end=end)))["calendar"]
        )
    return Calendar(office=office.code, sessions=gw.availability.calendar(office, start, end, utcnow()))


@router.get("/free-slots", summary="The nearest offices with a free slot between two dates")
async def nearest_free(
    lat: Latitude,
    lon: Longitude,
    start: Start,
    end: End,
    gw: GatewayDep,
    session: Annotated[Session | None, Query(description="Only this session.")] = None,
    limit: Annotated[int, Query(ge=1, le=20, description="At most this many offices.")] = 3,
) -> list[FreeSlot]:
    check_range(start, end)
    if gw.availability is None:
        raise ProblemError(
            "service_unavailable", "The availability read model is off.", "Model baca ketersediaan tidak aktif."
        )
    found, now = [], utcnow()
    for office, distance in nearest_offices(lat, lon, 1000):
        sessions = gw.availability.calendar(office, start, end, now)
        free = next((s for s in sessions if s.open and (session is None or s.session == session)), None)
        if free is not None:
            found.append(
                FreeSlot(office=OfficeOut(**office.model_dump(), distance_km=round(distance, 1)), session=free)
            )
        if len(found) == limit:
            break
    return found
