"""The open tickets (awaiting their holder), kept in memory for the no-show and reminder sweeps, and each
recent office day's tickets (ids only) for its check-in desk's list.

Rebuilt from the event store's notification log at start, then fed every event the notifier saves. The
day lists are kept from a date on (`kept_from`, moved forward by the notifier's sweep): an older day's
list is forgotten, and read from the event store when a desk asks for it (`NotifierApplication.office_day`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any
from uuid import UUID

from .claims import Appointment, appointment_of
from .domain import Ticket


@dataclass(frozen=True)
class OpenTicket(Appointment):
    """What the sweeps need to know about one open ticket: its appointment, and whether it was reminded."""

    reminded: bool = False


class Roster:
    """Open tickets by booking id, and every ticket's booking id by office and date, for dates from `kept_from`."""

    def __init__(self, kept_from: dt.date | None = None) -> None:
        self.open: dict[UUID, OpenTicket] = {}
        self._booking_of: dict[UUID, UUID] = {}  # ticket id -> booking id, while the ticket is open
        # (office, date) -> the booking ids of every ticket issued for it (open or not), packed: 16 bytes each
        self._by_day: dict[tuple[str, dt.date], bytearray] = {}
        self.kept_from = kept_from  # the oldest date whose list is kept (None: every date's)

    def keeps(self, day: dt.date) -> bool:
        """Whether the day's list is here, whole: every ticket issued for it (none, if no list)."""
        return self.kept_from is None or day >= self.kept_from

    def keep_from(self, day: dt.date) -> int:
        """Forget the lists of the dates before `day` (never moves back); how many lists were forgotten."""
        if self.kept_from is not None and day <= self.kept_from:
            return 0
        self.kept_from = day
        old = [key for key in self._by_day if key[1] < day]
        for key in old:
            del self._by_day[key]
        return len(old)

    def apply(self, events: Iterable[Any]) -> None:
        for domain_event in events:
            self._apply(domain_event)

    def _apply(self, domain_event: Any) -> None:
        if isinstance(domain_event, Ticket.Issued):
            self._booking_of[domain_event.originator_id] = domain_event.booking_id
            self.open[domain_event.booking_id] = OpenTicket(**appointment_of(domain_event))
            if self.keeps(domain_event.day):
                self._by_day.setdefault((domain_event.office, domain_event.day), bytearray()).extend(
                    domain_event.booking_id.bytes
                )
            return
        booking_id = self._booking_of.get(domain_event.originator_id)
        if booking_id not in self.open:
            return
        if isinstance(domain_event, Ticket.Reminded):
            self.open[booking_id] = replace(self.open[booking_id], reminded=True)
        else:  # Revoked, CheckedIn, NoShow: the ticket is closed, nothing later about it matters here
            del self.open[booking_id]
            del self._booking_of[domain_event.originator_id]

    def on_or_before(self, day: dt.date) -> list[OpenTicket]:
        """Open tickets for appointments up to `day` (candidates for a no-show)."""
        return [t for t in self.open.values() if t.day <= day]

    def unreminded(self, first: dt.date, last: dt.date) -> list[OpenTicket]:
        """Open tickets not yet reminded, for appointments between two dates."""
        return [t for t in self.open.values() if not t.reminded and first <= t.day <= last]

    def booked_on(self, office: str, day: dt.date) -> list[UUID]:
        """The booking ids of every ticket issued for an office's kept date (open or not), in the order issued."""
        if not self.keeps(day):
            raise ValueError(f"the list of {day} is no longer kept (kept from {self.kept_from})")
        packed = self._by_day.get((office, day), b"")
        return [UUID(bytes=bytes(packed[at : at + 16])) for at in range(0, len(packed), 16)]

    @property
    def days(self) -> int:
        """How many office days' lists are kept."""
        return len(self._by_day)
