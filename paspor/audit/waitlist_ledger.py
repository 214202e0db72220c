"""Replays the waitlists in the quota store: every hold is checked against the places and the clock.

Invariants (findings with these codes):
- `hold_place_taken`: a hold was offered a queue number someone holds (a reservation or another hold),
  or a booking holds two offers at once;
- `hold_over_capacity`: reservations plus holds exceed the capacity (holds count against it);
- `hold_not_expired`: a hold outlived its deadline plus the audit's grace with no expiry recorded (a later
  event of its session, or the audit's own moment, is past it);
- `hold_accepted_late` / `hold_lapsed_early`: accepted at or after its deadline, or lapsed before it.
Times are the ones the worker's clock recorded in the events (`at`, `deadline`), never the store's.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .records import Record, ident, plain

if TYPE_CHECKING:
    from .quota_ledger import QuotaLedger, SessionState

KINDS = frozenset(
    {
        "Waitlist.Waitlisted",
        "Waitlist.HoldOffered",
        "Waitlist.HoldAccepted",
        "Waitlist.HoldLapsed",
        "Waitlist.LeftWaitlist",
        "Waitlist.Unlisted",
    }
)


@dataclass
class Hold:
    number: int
    deadline: dt.datetime
    record: Record


class WaitlistLedger:
    """The holds of every session, beside the quota ledger's reservations."""

    def __init__(self, quota: QuotaLedger, grace: dt.timedelta) -> None:
        self.quota, self.grace = quota, grace
        self.holds: dict[object, dict[str, Hold]] = {}  # session id -> booking id -> its active hold
        self.offered = self.lapsed = self.accepted = 0

    def apply(self, session: SessionState, record: Record) -> None:
        holds = self.holds.setdefault(record.aggregate_id, {})
        state, kind = record.state, record.kind
        at = plain(state["at"])
        self._overdue(session, holds, at, record)
        if kind == "Waitlist.HoldOffered":
            self._offered(session, holds, ident(state["booking_id"]), record)
        elif kind == "Waitlist.HoldAccepted":
            hold = holds.pop(ident(state["booking_id"]), None)
            if hold is not None and at >= hold.deadline:
                self._report(session, "hold_accepted_late", f"accepted at {at:%H:%M:%S}, due {hold.deadline}", record)
            self.quota._reserve(session, ident(state["booking_id"]), state["queue_number"], record)
            self.accepted += 1
        elif kind == "Waitlist.HoldLapsed":
            hold = holds.pop(ident(state["booking_id"]), None)
            if hold is not None and at < hold.deadline:
                self._report(session, "hold_lapsed_early", f"lapsed at {at:%H:%M:%S}, due {hold.deadline}", record)
            self.quota.refused[ident(state["booking_id"])] = record
            self.lapsed += 1
        elif kind == "Waitlist.LeftWaitlist":
            holds.pop(ident(state["booking_id"]), None)
        elif kind == "Waitlist.Unlisted":
            for entry in state["entries"]:
                holds.pop(ident(entry["booking_id"]), None)
                self.quota.refused[ident(entry["booking_id"])] = record

    def after_decided(self, session: SessionState, record: Record) -> None:
        """Reservations decided while holds stand: together they must fit the capacity."""
        held = self.holds.get(record.aggregate_id, {})
        if held and len(session.held) + len(held) > session.capacity:
            detail = f"{len(session.held)} reservations and {len(held)} holds, capacity {session.capacity}"
            self._report(session, "hold_over_capacity", detail, record)

    def finish(self, now: dt.datetime) -> None:
        """At the audit's moment: no hold may still stand past its deadline and the grace."""
        for session_id, holds in self.holds.items():
            session = self.quota.sessions.get(session_id)
            if session is not None:
                self._overdue(session, holds, now, None)

    def _offered(self, session: SessionState, holds: dict[str, Hold], booking_id: str, record: Record) -> None:
        number, deadline = record.state["queue_number"], plain(record.state["deadline"])
        holder = session.numbers.get(number) or next((b for b, h in holds.items() if h.number == number), None)
        if holder is not None or booking_id in holds:
            self._report(session, "hold_place_taken", f"#{number} offered to {booking_id}, held by {holder}", record)
        holds[booking_id] = Hold(number, deadline, record)
        self.offered += 1
        if len(session.held) + len(holds) > session.capacity:
            detail = f"{len(session.held)} reservations and {len(holds)} holds, capacity {session.capacity}"
            self._report(session, "hold_over_capacity", detail, record)

    def _overdue(self, session: SessionState, holds: dict[str, Hold], at: dt.datetime, record: Record | None) -> None:
        for booking_id, hold in list(holds.items()):
            if at > hold.deadline + self.grace:
                detail = f"booking {booking_id}'s hold was due {hold.deadline}, still held at {at}"
                self._report(session, "hold_not_expired", detail, hold.record, *([record] if record else []))
                del holds[booking_id]  # reported once

    def _report(self, session: SessionState, code: str, detail: str, *records: Record) -> None:
        self.quota._report(session, code, session.name, detail, *records)

    def totals(self) -> dict[str, int]:
        standing = sum(len(h) for h in self.holds.values())
        return {"holds_offered": self.offered, "holds_accepted": self.accepted, "holds_lapsed": self.lapsed} | {
            "holds_standing": standing
        }
