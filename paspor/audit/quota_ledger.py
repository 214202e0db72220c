"""Replays the quota store: capacity, held reservations and queue numbers of every session, over time."""

from __future__ import annotations

from dataclasses import dataclass, field

from .findings import AuditResult
from .records import Record, ident, plain
from .scope import Scope
from .waitlist_ledger import KINDS as WAITLIST_KINDS
from .waitlist_ledger import WaitlistLedger

# A partition's ownership (epochs, fences: services/quota/fence.py) decides nothing the ledger replays;
# a cancellation that found nothing to release (`Partition.NothingReleased`) is a finding of its own.
IGNORED = frozenset(
    {"SessionQuota.Snapshot"} | {f"Partition.{kind}" for kind in ("Opened", "Taken", "Kept", "Snapshot")}
)
NOTHING_RELEASED = "Partition.NothingReleased"


@dataclass
class SessionState:
    """One (office, date, session) as rebuilt from its events."""

    office: str
    day: object
    session: str
    capacity: int
    closed: bool = False
    held: dict[str, int] = field(default_factory=dict)  # booking id -> queue number
    numbers: dict[int, str] = field(default_factory=dict)  # queue number -> booking id

    @property
    def name(self) -> str:
        return f"{self.office} {self.day} {self.session}"

    def let_go(self, booking_id: str) -> None:
        number = self.held.pop(booking_id)
        if self.numbers.get(number) == booking_id:
            del self.numbers[number]


@dataclass(frozen=True)
class Reservation:
    session: SessionState
    number: int
    record: Record


class QuotaLedger:
    """Every session's state, and per booking what quota decided (reservations, refusals, releases)."""

    kinds = (
        frozenset(
            {
                "SessionQuota.Opened",
                "SessionQuota.Decided",
                "SessionQuota.Released",
                "SessionQuota.CapacityChanged",
                "SessionQuota.Closed",
            }
        )
        | IGNORED
        | WAITLIST_KINDS
        | {NOTHING_RELEASED}
    )

    def __init__(self, result: AuditResult, scope: Scope) -> None:
        self.result, self.scope = result, scope
        self.sessions: dict[object, SessionState] = {}
        self.reservations: dict[str, list[Reservation]] = {}
        self.refused: dict[str, Record] = {}
        self.released: dict[str, Record] = {}  # cancellations and closures both give the slot back
        self.waitlist = WaitlistLedger(self, scope.grace)  # holds: paspor/audit/waitlist_ledger.py

    def apply(self, record: Record) -> None:
        kind, state = record.kind, record.state
        if kind == NOTHING_RELEASED:
            self._nothing_released(record)
            return
        if kind == "SessionQuota.Opened":
            self.sessions[record.aggregate_id] = SessionState(
                state["office"], plain(state["day"]), state["session"], state["capacity"]
            )
            return
        session = self.sessions.get(record.aggregate_id)
        if session is None:
            return  # its Opened is missing: reported as a version gap
        if kind in WAITLIST_KINDS:
            self.waitlist.apply(session, record)
        elif kind == "SessionQuota.Decided":
            self._decided(session, record)
            self.waitlist.after_decided(session, record)
        elif kind == "SessionQuota.Released":
            self._released(session, ident(state["booking_id"]), record)
        elif kind == "SessionQuota.CapacityChanged":
            session.capacity = state["capacity"]
        elif kind == "SessionQuota.Closed":
            session.closed = True
            for booking_id in state["withdrawn"]:
                self._released(session, ident(booking_id), record)

    def _decided(self, session: SessionState, record: Record) -> None:
        reserved = 0
        for decision in record.state["decisions"]:
            booking_id, number = ident(decision["booking_id"]), decision["queue_number"]
            if number is None:
                self.refused[booking_id] = record
                continue
            self._reserve(session, booking_id, number, record)
            reserved += 1
        if reserved and len(session.held) > session.capacity:
            self._report(
                session,
                "over_capacity",
                session.name,
                f"{len(session.held)} reservations held, capacity {session.capacity}",
                record,
            )
        if reserved and session.closed:
            self._report(
                session, "reserved_in_closed_session", session.name, f"{reserved} reserved after closing", record
            )

    def _reserve(self, session: SessionState, booking_id: str, number: int, record: Record) -> None:
        earlier = self.reservations.setdefault(booking_id, [])
        if earlier:
            self._report(
                session,
                "reserved_twice",
                f"booking {booking_id}",
                f"reserved again in {session.name} (first in {earlier[0].session.name})",
                earlier[0].record,
                record,
            )
        holder = session.numbers.get(number)
        if holder is not None and holder != booking_id:
            self._report(
                session,
                "queue_number_duplicated",
                session.name,
                f"queue number {number} given to {booking_id} while {holder} holds it",
                record,
            )
        if number < 1:
            self._report(session, "queue_number_invalid", session.name, f"queue number {number}", record)
        earlier.append(Reservation(session, number, record))
        session.held[booking_id] = number
        session.numbers.setdefault(number, booking_id)

    def _released(self, session: SessionState, booking_id: str, record: Record) -> None:
        if booking_id not in session.held:
            self._report(
                session,
                "release_without_reservation",
                f"booking {booking_id}",
                f"released in {session.name}, where it held no slot",
                record,
            )
            return
        session.let_go(booking_id)
        self.released[booking_id] = record

    def _nothing_released(self, record: Record) -> None:
        """A cancellation whose booking the quota store never decided: its request did not reach quota."""
        state = record.state
        office, day, session = state["office"], plain(state["day"]), state["session"]
        if self.scope.covers(office, day):
            self.result.add(
                "cancellation_found_nothing",
                f"booking {ident(state['booking_id'])}",
                f"cancelled in {office} {day} {session}, but quota never decided its request (look for its dead letters)",
                record,
            )

    def _report(self, session: SessionState, code: str, subject: str, detail: str, *records: Record) -> None:
        if self.scope.covers(session.office, session.day):
            self.result.add(code, subject, detail, *records)

    def holding(self, booking_id: str) -> SessionState | None:
        """The session where a booking still holds a slot at the end of the replay, if any."""
        for reservation in self.reservations.get(booking_id, ()):
            if reservation.session.held.get(booking_id) is not None:
                return reservation.session
        return None

    def totals(self) -> dict[str, int]:
        covered = [s for s in self.sessions.values() if self.scope.covers(s.office, s.day)]
        return {
            "sessions": len(covered),
            "slots_held": sum(len(s.held) for s in covered),
            "capacity": sum(s.capacity for s in covered),
        } | self.waitlist.totals()
