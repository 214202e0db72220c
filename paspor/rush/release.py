"""Which date(s) the rush releases, asked of the running system rather than computed from a clock.

"Today" is the system's own (its HTTP `Date` header); its calendar (`GET /v1/offices/{code}/calendar`)
tells which dates are open at every office of the scenario and what each session holds. The rush
takes the first date(s) open at all of them with nothing booked yet, or the date(s) it is given.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from email.utils import parsedate_to_datetime

import httpx

from .scenario import SESSIONS, Scenario, Slot

LOOK_AHEAD_DAYS = 90  # from the day before today: the calendar answers at most 92 days at once


class NoReleaseDate(RuntimeError):
    """No date (or not the one asked) is open at every office of the scenario."""


@dataclass(frozen=True)
class Release:
    """The dates released and, per session, its capacity and what was booked before the rush."""

    dates: list[dt.date]
    capacity: dict[Slot, int]
    booked_before: dict[Slot, int]

    @property
    def places(self) -> int:
        return sum(self.capacity.values()) - sum(self.booked_before.values())

    def room_left(self) -> Release:
        """The same sessions as a fresh release of only the room left (for a system that starts empty)."""
        capacity = {slot: room - self.booked_before[slot] for slot, room in self.capacity.items()}
        return Release(self.dates, capacity, dict.fromkeys(capacity, 0))

    def as_dict(self) -> dict[str, object]:
        return {
            "dates": [d.isoformat() for d in self.dates],
            "sessions": len(self.capacity),
            "places": self.places,
            "capacity_per_session": sorted(set(self.capacity.values())),
        }


def find_release(url: str, scenario: Scenario, dates: list[dt.date] | None = None) -> Release:
    """The scenario's dates from the system's calendar: the first ones untouched at every office, or `dates`."""
    url = url.rstrip("/")
    with httpx.Client(timeout=30) as client:
        today = system_today(client, url)
        calendars = {
            code: _calendar(client, url, code, today - dt.timedelta(days=1), today + dt.timedelta(LOOK_AHEAD_DAYS))
            for code in scenario.office_codes()
        }
    if dates:
        for day in dates:
            closed = [f"{code} {why}" for code, sessions in calendars.items() if (why := _not_open(sessions, day))]
            if closed:
                raise NoReleaseDate(f"{day} is not open at every office: {'; '.join(closed)}")
        chosen = sorted(dates)
    else:
        candidates = sorted({d for sessions in calendars.values() for (d, _) in sessions})
        chosen = [d for d in candidates if all(_untouched(s, d) for s in calendars.values())][: scenario.days]
        if len(chosen) < scenario.days:
            raise NoReleaseDate(
                f"fewer than {scenario.days} date(s) in the next {LOOK_AHEAD_DAYS} days are open and untouched at "
                f"{', '.join(scenario.office_codes())}; give one with --date"
            )
    capacity, booked = {}, {}
    for code, sessions in calendars.items():
        for day in chosen:
            for session in SESSIONS:
                found = sessions[(day, session)]
                capacity[(code, day, session)], booked[(code, day, session)] = found["capacity"], found["booked"]
    return Release(chosen, capacity, booked)


def system_today(client: httpx.Client, url: str) -> dt.date:
    """The date (UTC) in the system's own `Date` header."""
    try:
        response = client.get(f"{url}/ready")
    except httpx.HTTPError as error:
        raise NoReleaseDate(f"cannot reach {url}: {error}") from None
    header = response.headers.get("date")
    if not header:
        raise NoReleaseDate(f"{url} sends no Date header: give the release date with --date")
    return parsedate_to_datetime(header).astimezone(dt.UTC).date()


def _calendar(client: httpx.Client, url: str, code: str, start: dt.date, end: dt.date) -> dict:
    response = client.get(f"{url}/v1/offices/{code}/calendar", params={"start": str(start), "end": str(end)})
    if response.status_code != 200:
        raise NoReleaseDate(f"the calendar of {code} answered {response.status_code}: {response.text[:200]}")
    return {(dt.date.fromisoformat(s["date"]), s["session"]): s for s in response.json()["sessions"]}


def _not_open(sessions: dict, day: dt.date) -> str | None:
    for session in SESSIONS:
        found = sessions.get((day, session))
        if found is None:
            return f"{session}: not in the calendar"
        if not found["open"]:
            return f"{session}: {found.get('reason') or 'closed'}"
        if found["remaining"] <= 0:
            return f"{session}: sold out"
    return None


def _untouched(sessions: dict, day: dt.date) -> bool:
    return _not_open(sessions, day) is None and all(sessions[(day, s)]["booked"] == 0 for s in SESSIONS)
