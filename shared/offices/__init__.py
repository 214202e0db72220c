"""Indonesia's immigration offices (Kantor Imigrasi) that issue passports, from the packaged CSV."""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Iterable
from functools import lru_cache
from importlib import resources
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "Office",
    "UnknownOffice",
    "load_offices",
    "office_by_code",
    "offices_in_province",
    "nearest_offices",
    "provinces",
    "offices_for_user",
]

EARTH_RADIUS_KM = 6371.0088
TimeZone = Literal["Asia/Jakarta", "Asia/Makassar", "Asia/Jayapura"]


class UnknownOffice(LookupError):
    """No office has the code asked for."""

    def __init__(self, code: str) -> None:
        super().__init__(f"unknown office code {code!r}: not in shared/offices/offices.csv")
        self.code = code


class Office(BaseModel):
    """One immigration office (Kanim) and how many applicants it takes per session."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    code: str = Field(pattern=r"^[A-Z0-9-]{2,16}$", description="Stable office code, e.g. JKT-SEL.")
    name: str = Field(min_length=1, description="Official name, e.g. Kantor Imigrasi Kelas I TPI Malang.")
    city: str = Field(min_length=1, description="City or regency where the office is.")
    province: str = Field(min_length=1, description="Indonesian province name, e.g. Jawa Timur.")
    timezone: TimeZone = Field(
        description="IANA time zone: Asia/Jakarta (WIB), Asia/Makassar (WITA), Asia/Jayapura (WIT)."
    )
    latitude: float = Field(ge=-90, le=90, description="Approximate latitude (city centre), degrees.")
    longitude: float = Field(ge=-180, le=180, description="Approximate longitude (city centre), degrees.")
    capacity_per_session: int = Field(gt=0, description="Applicants served per session (pagi or siang).")


def _check_position(lat: float, lon: float) -> None:
    if not -90 <= lat <= 90:
        raise ValueError(f"latitude must be between -90 and 90 degrees, got {lat}")
    if not -180 <= lon <= 180:
        raise ValueError(f"longitude must be between -180 and 180 degrees, got {lon}")


def _haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dphi, dlmb = phi2 - phi1, math.radians(lon2 - lon1)
    a = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlmb / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))


@lru_cache(maxsize=1)
def load_offices() -> tuple[Office, ...]:
    """All offices from the packaged offices.csv, in file order (read once, cached)."""
    text = resources.files(__name__).joinpath("offices.csv").read_text(encoding="utf-8")
    offices = tuple(Office.model_validate(row) for row in csv.DictReader(io.StringIO(text)))
    codes = [office.code for office in offices]
    if len(set(codes)) != len(codes):
        raise ValueError("offices.csv has duplicate office codes")
    return offices


@lru_cache(maxsize=1)
def _by_code() -> dict[str, Office]:
    return {office.code: office for office in load_offices()}


def office_by_code(code: str) -> Office:
    """The office with this code; raises UnknownOffice if there is none."""
    try:
        return _by_code()[code]
    except KeyError:
        raise UnknownOffice(code) from None


def offices_in_province(province: str) -> list[Office]:
    """Offices in a province (name matched case-insensitively), in file order."""
    wanted = province.strip().casefold()
    return [office for office in load_offices() if office.province.casefold() == wanted]


def provinces() -> list[str]:
    """Province names that have at least one office, sorted."""
    return sorted({office.province for office in load_offices()})


def _by_distance(offices: Iterable[Office], lat: float, lon: float) -> list[tuple[Office, float]]:
    ranked = [(office, _haversine_km(lat, lon, office.latitude, office.longitude)) for office in offices]
    ranked.sort(key=lambda pair: (pair[1], pair[0].code))
    return ranked


def nearest_offices(lat: float, lon: float, limit: int = 5) -> list[tuple[Office, float]]:
    """The `limit` offices nearest to a point, with great-circle distance in km, nearest first."""
    _check_position(lat, lon)
    if limit < 0:
        raise ValueError(f"limit must not be negative, got {limit}")
    return _by_distance(load_offices(), lat, lon)[:limit]


def offices_for_user(province: str, lat: float, lon: float, limit: int = 5) -> list[tuple[Office, float]]:
    """Offices of the user's province first (nearest first), then the nearest others, up to `limit`."""
    _check_position(lat, lon)
    if limit < 0:
        raise ValueError(f"limit must not be negative, got {limit}")
    own = offices_in_province(province)
    own_codes = {office.code for office in own}
    others = [office for office in load_offices() if office.code not in own_codes]
    return (_by_distance(own, lat, lon) + _by_distance(others, lat, lon))[:limit]
