"""Whether a genuine ticket admits its holder here and now: the office, the day, the session window.

Pure: the clock and the office's time zone are passed in. Used by the online check-in and by
`paspor ticket verify` on a device with no network.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from shared.offices import office_by_code
from shared.sessions import DEFAULT_SESSION_HOURS, SessionHours, session_window

from .claims import TicketClaims
from .signing import TicketInvalid


@dataclass(frozen=True)
class AdmissionPolicy:
    """How far before a session check-in opens, and how long after its end it stays open."""

    early: dt.timedelta = dt.timedelta(minutes=60)
    grace: dt.timedelta = dt.timedelta(minutes=30)
    hours: tuple[SessionHours, ...] = DEFAULT_SESSION_HOURS

    def window(self, office: str, day: dt.date, session: str) -> tuple[dt.datetime, dt.datetime]:
        """When check-in opens and closes for a session, in the office's time zone."""
        starts, ends = self.session(office, day, session)
        return starts - self.early, ends + self.grace

    def session(self, office: str, day: dt.date, session: str) -> tuple[dt.datetime, dt.datetime]:
        """A session's start and end, in the office's time zone."""
        return session_window(day, session, office_by_code(office).timezone, self.hours)


def check_admission(claims: TicketClaims, office: str | None, now: dt.datetime, policy: AdmissionPolicy) -> None:
    """Refuse (TicketInvalid) a ticket for another office, another day, or outside its session window."""
    if office is not None and claims.office != office:
        raise TicketInvalid("wrong_office", f"the ticket is for office {claims.office}, not {office}")
    opens, closes = policy.window(claims.office, claims.day, claims.session)
    local_now = now.astimezone(opens.tzinfo)
    if local_now.date() != claims.day:
        raise TicketInvalid("wrong_day", f"the ticket is for {claims.day:%Y-%m-%d}, today is {local_now:%Y-%m-%d}")
    if not opens <= local_now <= closes:
        raise TicketInvalid(
            "wrong_session",
            f"the ticket is for the {claims.session} session: check-in from {opens:%H:%M} to {closes:%H:%M} "
            f"({opens.tzname()}), now {local_now:%H:%M}",
        )
