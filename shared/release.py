"""When a date may be booked: released on a rolling window of N days, at a local time in each office's time zone.

The one home of the rule that the quota service judges by, that the booking service checks first
and that the gateway's calendar shows: a date is refused when it is past, when offices are closed
on it (`shared.calendar`), or before its release instant, `release_time` office time, `window_days`
days before the date. Pure: `now` is always given.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from shared.calendar import is_office_day

__all__ = ["DATE_PAST", "NOT_RELEASED", "OFFICE_CLOSED", "ReleaseSchedule"]

DATE_PAST = "date_past"
OFFICE_CLOSED = "office_closed"
NOT_RELEASED = "not_released"


@dataclass(frozen=True)
class ReleaseSchedule:
    """Dates open on a rolling window of `window_days`, each released at `release_time` (office time)."""

    window_days: int = 60
    release_time: dt.time = dt.time(0, 0)

    def __post_init__(self) -> None:
        if self.window_days < 0:
            raise ValueError(f"the release window must be zero days or more, got {self.window_days}")
        if self.release_time.tzinfo is not None:
            raise ValueError("the release time is a local time of each office: give it without a time zone")

    def opens_at(self, day: dt.date, zone: dt.tzinfo) -> dt.datetime:
        """The instant a date is released, in the office's time zone."""
        return self._opens(day).replace(tzinfo=zone)

    def refusal(self, day: dt.date, local_now: dt.datetime, office_day: bool) -> str | None:
        """Why a date cannot be booked when the office's clock reads `local_now`, or None when it can."""
        if day < local_now.date():
            return DATE_PAST
        if not office_day:
            return OFFICE_CLOSED
        if local_now.replace(tzinfo=None) < self._opens(day):
            return NOT_RELEASED
        return None

    def refusal_at(self, day: dt.date, now: dt.datetime, timezone: str | dt.tzinfo) -> str | None:
        """Why a date cannot be booked at `now` (an aware instant) in an office of this time zone, or None."""
        if now.tzinfo is None or now.utcoffset() is None:
            raise ValueError(f"now must be an aware datetime (with its time zone), got {now.isoformat()}")
        zone = ZoneInfo(timezone) if isinstance(timezone, str) else timezone
        return self.refusal(day, now.astimezone(zone), is_office_day(day))

    def _opens(self, day: dt.date) -> dt.datetime:
        """The office clock's reading when a date is released."""
        return dt.datetime.combine(day - dt.timedelta(days=self.window_days), self.release_time)
