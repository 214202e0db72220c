"""Replays the notifier store: every ticket, and every check-in: once, at its office, on its day."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import cache
from zoneinfo import ZoneInfo

from shared.offices import UnknownOffice, office_by_code

from .findings import AuditResult
from .records import Record, plain
from .scope import Scope

IGNORED = frozenset({"Ticket.Reminded"})


@dataclass
class TicketTrail:
    """One ticket as rebuilt from its events."""

    booking_id: str
    office: str
    day: dt.date
    session: str
    queue_number: int
    issued: Record
    revoked: Record | None = None
    checked_in: Record | None = None
    no_show: Record | None = None


class TicketLedger:
    """Tickets by booking id; checks every check-in as it replays."""

    kinds = frozenset({"Ticket.Issued", "Ticket.Revoked", "Ticket.CheckedIn", "Ticket.NoShow"}) | IGNORED

    def __init__(self, result: AuditResult, scope: Scope) -> None:
        self.result, self.scope = result, scope
        self.tickets: dict[str, TicketTrail] = {}  # by booking id
        self.by_aggregate: dict[object, TicketTrail] = {}

    def apply(self, record: Record) -> None:
        kind, state = record.kind, record.state
        if kind == "Ticket.Issued":
            issued = TicketTrail(
                plain(state["booking_id"]),
                state["office"],
                plain(state["day"]),
                state["session"],
                state["queue_number"],
                record,
            )
            self.tickets[issued.booking_id] = self.by_aggregate[record.aggregate_id] = issued
            return
        trail = self.by_aggregate.get(record.aggregate_id)
        if trail is None:
            return  # its Issued is missing: reported as a version gap
        if kind == "Ticket.Revoked":
            trail.revoked = record
        elif kind == "Ticket.NoShow":
            trail.no_show = record
        elif kind == "Ticket.CheckedIn":
            self._check_in(trail, record)

    def _check_in(self, trail: TicketTrail, record: Record) -> None:
        subject, state = f"ticket of booking {trail.booking_id}", record.state
        if trail.checked_in is not None:
            self._report(trail, "checked_in_twice", subject, "a second check-in", trail.checked_in, record)
        ended = trail.revoked or trail.no_show
        if ended is not None:
            self._report(trail, "checked_in_after_end", subject, f"checked in after {ended.kind}", ended, record)
        if state.get("office", trail.office) != trail.office:
            self._report(
                trail,
                "checked_in_at_wrong_office",
                subject,
                f"checked in at {state['office']}, ticket for {trail.office}",
                trail.issued,
                record,
            )
        local_day = local_date(plain(state.get("at")) or record.timestamp, trail.office)
        if local_day is not None and local_day != trail.day:
            self._report(
                trail,
                "checked_in_on_wrong_day",
                subject,
                f"checked in on {local_day}, ticket for {trail.day}",
                trail.issued,
                record,
            )
        trail.checked_in = trail.checked_in or record

    def _report(self, trail: TicketTrail, code: str, subject: str, detail: str, *records: Record) -> None:
        if self.scope.covers(trail.office, trail.day):
            self.result.add(code, subject, detail, *records)


def local_date(moment: dt.datetime, office: str) -> dt.date | None:
    """The date of a moment at an office (None for an office the audit does not know)."""
    zone = _zone(office)
    return moment.astimezone(zone).date() if zone else None


@cache
def _zone(office: str) -> ZoneInfo | None:
    try:
        return ZoneInfo(office_by_code(office).timezone)
    except UnknownOffice:
        return None
