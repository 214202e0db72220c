"""Office days: Monday to Friday except Indonesia's national holidays and cuti bersama, from the packaged CSV."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Mapping
from functools import lru_cache
from importlib import resources
from types import MappingProxyType

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["Holiday", "closed_because", "holiday_on", "is_office_day", "is_weekend", "load_holidays"]


class Holiday(BaseModel):
    """A day on which immigration offices are closed: a national holiday or cuti bersama."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    date: dt.date = Field(description="The calendar date.")
    name_id: str = Field(min_length=1, description="Name in Indonesian, e.g. Hari Raya Idul Fitri 1447 H.")
    name_en: str = Field(min_length=1, description="Name in English, e.g. Eid al-Fitr.")


@lru_cache(maxsize=1)
def _holidays() -> Mapping[dt.date, Holiday]:
    text = resources.files(__name__).joinpath("holidays.csv").read_text(encoding="utf-8")
    table: dict[dt.date, Holiday] = {}
    for row in csv.DictReader(io.StringIO(text)):
        holiday = Holiday.model_validate(row)
        if holiday.date in table:
            raise ValueError(f"holidays.csv lists {holiday.date} twice")
        table[holiday.date] = holiday
    return MappingProxyType(table)


def load_holidays() -> dict[dt.date, Holiday]:
    """All holidays and cuti bersama days by date (the CSV is read once; each call returns a fresh dict)."""
    return dict(_holidays())


def holiday_on(d: dt.date) -> Holiday | None:
    """The holiday or cuti bersama day on this date, or None."""
    return _holidays().get(d)


def is_weekend(d: dt.date) -> bool:
    """Saturday or Sunday: offices are closed."""
    return d.weekday() >= 5


def is_office_day(d: dt.date, holidays: Mapping[dt.date, object] | None = None) -> bool:
    """True on Monday to Friday unless the date is a holiday (the packaged list unless one is given)."""
    table = _holidays() if holidays is None else holidays
    return not is_weekend(d) and d not in table


def closed_because(d: dt.date) -> tuple[str, str] | None:
    """Why offices are closed on a date (English, Indonesian): the weekend or the holiday; None on an office day."""
    if is_weekend(d):
        return "weekend", "akhir pekan"
    holiday = holiday_on(d)
    return (holiday.name_en, holiday.name_id) if holiday else None
