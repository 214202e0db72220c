"""What part of the history an audit looks at: an office, a range of appointment dates, a moment."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Scope:
    """Findings about other offices or dates are not reported; events after `as_of` are not read."""

    office: str | None = None
    start: dt.date | None = None
    end: dt.date | None = None
    as_of: dt.datetime | None = None
    grace: dt.timedelta = dt.timedelta(seconds=60)
    stuck_after: dt.timedelta = dt.timedelta(minutes=10)  # a booking undecided this long is stuck

    def covers(self, office: str, day: Any) -> bool:
        if self.office is not None and office != self.office:
            return False
        day = dt.date.fromisoformat(day) if isinstance(day, str) else day
        return (self.start is None or day >= self.start) and (self.end is None or day <= self.end)

    def as_dict(self) -> dict[str, Any]:
        return {
            "office": self.office,
            "start": _iso(self.start),
            "end": _iso(self.end),
            "as_of": _iso(self.as_of),
            "grace_seconds": self.grace.total_seconds(),
            "stuck_after_seconds": self.stuck_after.total_seconds(),
        }


def _iso(value: dt.date | None) -> str | None:
    return value.isoformat() if value else None
