"""An office's day list for its check-in desk: every ticket of a date, who came and who has not (its officers only)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query

from shared.clock import now
from shared.events import Commands, GetOfficeDay, OfficeDay

from .deps import GatewayDep, Officer
from .problems import ProblemError
from .routes_offices import known_office
from .routes_operators import OfficeCode

router = APIRouter(prefix="/v1", tags=["office"])


@router.get("/offices/{code}/checkins", summary="The office's tickets for a date: checked in, waiting, no-show")
async def office_day(
    code: OfficeCode,
    gw: GatewayDep,
    who: Officer,
    date: Annotated[dt.date | None, Query(description="The date (default: today at the office).")] = None,
) -> OfficeDay:
    """Office staff: their own office's list only (tickets carry no personal data: queue numbers and counts)."""
    office = known_office(code)
    if who.office != office.code:
        raise ProblemError(
            "forbidden",
            "Office staff see their own office's list only.",
            "Petugas hanya dapat melihat daftar kantornya sendiri.",
        )
    day = date or now().astimezone(ZoneInfo(office.timezone)).date()
    reply = await gw.ask(Commands.OFFICE_DAY, GetOfficeDay(office=office.code, date=day))
    return OfficeDay(**reply["day"])
