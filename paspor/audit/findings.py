"""What an audit finds: broken invariants with the events that show them, and what it read."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from .records import Record

# Every invariant the audit checks, by stable code, with what it means.
INVARIANTS: dict[str, str] = {
    "over_capacity": "a session's reservations went above its capacity",
    "reserved_in_closed_session": "a reservation was made in a closed session",
    "queue_number_duplicated": "two reservations held the same queue number in one session",
    "queue_number_invalid": "a queue number below 1",
    "reserved_twice": "a booking was reserved more than once",
    "release_without_reservation": "a slot was released that was not held",
    "version_gap": "an aggregate's event versions are not consecutive (an event is missing)",
    "confirmed_without_reservation": "a confirmed booking holds no reservation",
    "confirmation_mismatch": "a confirmation's slot or queue number differs from its reservation",
    "reservation_without_booking": "a reservation for a booking the booking store never recorded",
    "slot_held_without_confirmed_booking": "a slot is still held for a booking that is not confirmed",
    "rejection_without_decision": "a booking was rejected without a quota refusal or withdrawal",
    "confirmed_twice": "a booking was confirmed twice, or after it ended",
    "confirmed_outside_choices": "a booking was confirmed in a session that was neither wanted nor a fallback",
    "cancellation_not_released": "a cancelled booking's slot was never released",
    "registration_limit_exceeded": "an account made more registrations than the limit",
    "spacing_violated": "an account registered again before the spacing elapsed",
    "cooldown_violated": "an account registered again during its cooldown after a cancellation",
    "two_active_bookings": "an account started a registration while another was upcoming",
    "device_moved_too_often": "an account moved to devices new to it more often than the rule allows",
    "nik_in_two_upcoming_bookings": "a NIK appeared in two upcoming bookings",
    "ticket_without_confirmed_booking": "a ticket for a booking that was never confirmed",
    "ticket_mismatch": "a ticket's slot or queue number differs from its booking's confirmation",
    "confirmed_without_ticket": "a confirmed booking never got its ticket",
    "ticket_not_revoked": "a cancelled booking's ticket was not revoked",
    "checked_in_twice": "a ticket was checked in more than once",
    "checked_in_at_wrong_office": "a check-in at another office than the ticket's",
    "checked_in_on_wrong_day": "a check-in on another day than the ticket's",
    "checked_in_after_end": "a check-in after the ticket was revoked or marked a no-show",
    "hold_place_taken": "a waitlist hold was offered a queue number someone held, or a booking held two offers",
    "hold_over_capacity": "a session's reservations and waitlist holds together went above its capacity",
    "hold_not_expired": "a waitlist hold outlived its deadline plus the grace with no expiry recorded",
    "hold_accepted_late": "a waitlist hold was accepted at or after its deadline",
    "hold_lapsed_early": "a waitlist hold was recorded as lapsed before its deadline",
    "booking_stuck_requested": "a booking stayed requested, undecided, longer than the audit's --stuck-after",
    "cancellation_found_nothing": "a cancellation reached quota for a booking it never decided (its request was lost)",
    "draw_committed_late": "a release draw's seed was committed after its window opened",
    "draw_identity_twice": "a NIK or account held two places in one release draw",
    "draw_seed_not_revealed": "a release draw was made but its seed never revealed",
    "draw_seed_not_committed": "a release draw's revealed seed does not match its commitment",
    "draw_order_differs": "a release draw's recorded order differs from the one its seed makes",
    "draw_offer_out_of_order": "a release draw's slots were not offered in its order",
    "unpublished_event": "a stored event never reached its JetStream stream",
    "published_not_stored": "a JetStream message that no event store recorded",
    # the payment holds (`payment_ledger.py`)
    "paid_booking_voided": "a paid booking was voided (a late payment must become a refund owed instead)",
    "billing_code_reused": "one billing code billed two bookings",
    "payment_unmatched": "a payment paid a booking but matches no billing code of that booking",
    "payment_matched_twice": "a paid booking is matched to more or fewer than one recorded payment",
    "voided_booking_holds_slot": "a booking voided for non-payment still holds its slot",
    # reschedules (services/booking/moves.py)
    "rescheduled_booking_holds_two_slots": "a rescheduled booking still holds its old slot besides its new one",
}


@dataclass(frozen=True)
class Evidence:
    """Where an offending event sits: store, position in its log, aggregate and version."""

    store: str
    position: int
    kind: str
    aggregate_id: str
    version: int
    at: dt.datetime | None

    @classmethod
    def of(cls, record: Record) -> Evidence:
        return cls(
            record.store,
            record.position,
            record.kind,
            str(record.aggregate_id),
            record.version,
            record.state.get("timestamp"),
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "store": self.store,
            "position": self.position,
            "kind": self.kind,
            "aggregate_id": self.aggregate_id,
            "version": self.version,
            "at": self.at.isoformat() if self.at else None,
        }


@dataclass(frozen=True)
class Finding:
    """One broken invariant, about one subject (a session, booking, account, NIK or ticket)."""

    code: str
    subject: str
    detail: str
    evidence: tuple[Evidence, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {
            "invariant": self.code,
            "meaning": INVARIANTS.get(self.code, ""),
            "subject": self.subject,
            "detail": self.detail,
            "events": [e.as_dict() for e in self.evidence],
        }


@dataclass
class AuditResult:
    """Everything an audit learned: events read per store, findings, pending items, unknown event types."""

    events: Counter[str] = field(default_factory=Counter)
    kinds: Counter[str] = field(default_factory=Counter)
    unknown: Counter[str] = field(default_factory=Counter)
    findings: list[Finding] = field(default_factory=list)
    pending: Counter[str] = field(default_factory=Counter)
    totals: dict[str, int] = field(default_factory=dict)
    skipped_stores: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0
    scope: dict[str, Any] = field(default_factory=dict)
    device_moves: list[dict[str, Any]] = field(default_factory=list)  # recovery steps: account, devices, when

    @property
    def ok(self) -> bool:
        return not self.findings

    @property
    def events_read(self) -> int:
        return sum(self.events.values())

    def broken(self) -> Counter[str]:
        return Counter(f.code for f in self.findings)

    def add(self, code: str, subject: str, detail: str, *evidence: Evidence | Record | None) -> None:
        proofs = tuple(e if isinstance(e, Evidence) else Evidence.of(e) for e in evidence if e is not None)
        self.findings.append(Finding(code, subject, detail, proofs))

    def as_dict(self) -> dict[str, Any]:
        return {
            "verdict": "ok" if self.ok else "broken",
            "scope": self.scope,
            "seconds": round(self.seconds, 3),
            "events_read": dict(self.events),
            "events_per_second": round(self.events_read / self.seconds) if self.seconds else None,
            "totals": self.totals,
            "invariants_checked": list(INVARIANTS),
            "broken": dict(self.broken()),
            "pending": dict(self.pending),
            "unknown_event_types": dict(self.unknown),
            "skipped_stores": self.skipped_stores,
            "findings": [f.as_dict() for f in self.findings],
            "device_moves": self.device_moves,
        }
