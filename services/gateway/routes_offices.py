"""Offices and their quota calendar ("data kuota dan pengantri")."""

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Query

from shared.events import Commands, GetCalendar
from shared.offices import UnknownOffice, load_offices, nearest_offices, office_by_code, offices_in_province

from .deps import GatewayDep
from .problems import ProblemError

router = APIRouter(prefix="/v1", tags=["offices"])


@router.get("/offices")
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


@router.get("/offices/{code}/calendar")
async def calendar(code: str, start: dt.date, end: dt.date, gw: GatewayDep) -> dict[str, Any]:
    try:
        office_by_code(code)
    except UnknownOffice:
        raise ProblemError("unknown_office", f"Unknown office {code}.", f"Kantor {code} tidak dikenal.") from None
    return (await gw.ask(Commands.GET_CALENDAR, GetCalendar(office=code, start=start, end=end)))["calendar"]
