"""The open tickets (awaiting their holder), kept in memory for the no-show and reminder sweeps, and each
office day's tickets (ids only) for its check-in desk's list.

Rebuilt from the event store's notification log at start, then fed every event the notifier saves.
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
    """Open tickets by booking id, and every ticket's booking id by office and date."""

    def __init__(self) -> None:
        self.open: dict[UUID, OpenTicket] = {}
        self._booking_of: dict[UUID, UUID] = {}  # ticket id -> booking id, while the ticket is open
        self._by_day: dict[tuple[str, dt.date], list[UUID]] = {}  # (office, date) -> booking ids, as issued

    def apply(self, events: Iterable[Any]) -> None:
        for domain_event in events:
            self._apply(domain_event)

    def _apply(self, domain_event: Any) -> None:
        if isinstance(domain_event, Ticket.Issued):
            self._booking_of[domain_event.originator_id] = domain_event.booking_id
            self.open[domain_event.booking_id] = OpenTicket(**appointment_of(domain_event))
            self._by_day.setdefault((domain_event.office, domain_event.day), []).append(domain_event.booking_id)
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
        """The booking ids of every ticket issued for an office's date (open or not), in the order issued."""
        return list(self._by_day.get((office, day), ()))
