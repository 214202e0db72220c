"""An office day's sessions and their hours, in the office's own time zone: defined once, here.

The hours are configuration (``PASPOR_SESSION_HOURS``, e.g. ``pagi=08:00-12:00,siang=13:00-16:00``);
these are the defaults. Booking views, tickets, check-in windows and no-show sweeps all use them.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from shared.events.common import Session

__all__ = [
    "DEFAULT_SESSION_HOURS",
    "DEFAULT_SESSION_HOURS_TEXT",
    "SESSIONS",
    "SessionHours",
    "parse_session_hours",
    "session_window",
]

SESSIONS: tuple[str, ...] = tuple(s.value for s in Session)  # in the order of the day, as the wire contract names them


@dataclass(frozen=True)
class SessionHours:
    """When one session starts and ends, in local (office) time."""

    session: str
    starts: dt.time
    ends: dt.time


DEFAULT_SESSION_HOURS: tuple[SessionHours, ...] = (
    SessionHours("pagi", dt.time(8, 0), dt.time(12, 0)),
    SessionHours("siang", dt.time(13, 0), dt.time(16, 0)),
)
DEFAULT_SESSION_HOURS_TEXT = ",".join(f"{h.session}={h.starts:%H:%M}-{h.ends:%H:%M}" for h in DEFAULT_SESSION_HOURS)


def parse_session_hours(text: str) -> tuple[SessionHours, ...]:
    """``pagi=08:00-12:00,siang=13:00-16:00`` → session hours; ValueError saying what is wrong."""
    hours = []
    for item in filter(None, (part.strip() for part in text.split(","))):
        try:
            name, span = item.split("=")
            starts, ends = (dt.time.fromisoformat(t.strip()) for t in span.split("-"))
        except ValueError:
            raise ValueError(f"session hours must look like pagi=08:00-12:00 (got {item!r})") from None
        name = name.strip()
        if name not in SESSIONS:
            raise ValueError(f"unknown session {name!r}: the sessions are {', '.join(SESSIONS)}")
        if ends <= starts:
            raise ValueError(f"session {name!r} must end after it starts")
        hours.append(SessionHours(name, starts, ends))
    given = [h.session for h in hours]
    if sorted(given) != sorted(SESSIONS):
        raise ValueError(
            f"give the hours of each session once: {', '.join(SESSIONS)} (got {', '.join(given) or 'none'})"
        )
    return tuple(hours)


def session_window(
    day: dt.date,
    session: str,
    timezone: str | dt.tzinfo,
    hours: tuple[SessionHours, ...] = DEFAULT_SESSION_HOURS,
) -> tuple[dt.datetime, dt.datetime]:
    """When a session starts and ends on a day, as aware datetimes in the office's time zone."""
    zone = ZoneInfo(timezone) if isinstance(timezone, str) else timezone
    try:
        found = next(h for h in hours if h.session == session)
    except StopIteration:
        raise ValueError(f"unknown session {session!r}") from None
    return dt.datetime.combine(day, found.starts, zone), dt.datetime.combine(day, found.ends, zone)
