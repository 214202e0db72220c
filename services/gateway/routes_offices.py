"""Offices: by province, by name, nearest to a point (with distance), and one office."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import Field

from shared.offices import Office, UnknownOffice, load_offices, nearest_offices, office_by_code, offices_in_province

from .problems import ProblemError

router = APIRouter(prefix="/v1", tags=["offices"])
Latitude = Annotated[float, Query(ge=-90, le=90, description="Latitude, degrees.", examples=[-7.12])]
Longitude = Annotated[float, Query(ge=-180, le=180, description="Longitude, degrees.", examples=[112.42])]
Limit = Annotated[int, Query(ge=1, le=200, description="At most this many offices.")]


class OfficeOut(Office):
    """An office, with its distance when the caller gave a position."""

    distance_km: float | None = Field(default=None, description="Great-circle distance from the given point, km.")


def known_office(code: str) -> Office:
    """The office, or the `unknown_office` problem."""
    try:
        return office_by_code(code)
    except UnknownOffice:
        raise ProblemError("unknown_office", f"Unknown office {code}.", f"Kantor {code} tidak dikenal.") from None


def matches(office: Office, words: str) -> bool:
    text = f"{office.code} {office.name} {office.city}".casefold()
    return all(word in text for word in words.casefold().split())


@router.get("/offices", summary="List offices: by province, by name, or nearest to a point")
async def offices(
    province: Annotated[str | None, Query(max_length=60, description="Province name, e.g. Jawa Timur.")] = None,
    q: Annotated[
        str | None, Query(min_length=1, max_length=60, description="Words of the name or city, e.g. malang.")
    ] = None,
    lat: Annotated[float | None, Query(ge=-90, le=90, description="Latitude (with lon: nearest first).")] = None,
    lon: Annotated[float | None, Query(ge=-180, le=180, description="Longitude (with lat).")] = None,
    limit: Limit = 200,
) -> list[OfficeOut]:
    if (lat is None) != (lon is None):
        raise ProblemError("invalid_request", "Give both lat and lon.", "Isi lat dan lon.", status=422)
    ranked: Sequence[tuple[Office, float | None]]
    if lat is not None and lon is not None:
        ranked = nearest_offices(lat, lon, len(load_offices()))
    else:
        ranked = [(office, None) for office in (offices_in_province(province) if province else load_offices())]
    chosen = [
        (o, d)
        for o, d in ranked
        if (not province or o.province.casefold() == province.strip().casefold()) and (not q or matches(o, q))
    ]
    return [OfficeOut(**o.model_dump(), distance_km=None if d is None else round(d, 1)) for o, d in chosen[:limit]]


@router.get("/offices/{code}", summary="One office")
async def office(code: str) -> Office:
    return known_office(code)
