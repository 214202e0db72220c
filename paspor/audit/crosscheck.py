"""Invariants across stores: bookings against reservations, cancellations against releases, tickets.

The stores are written by different services at different moments, so what the last few seconds
changed may not have reached the next service yet: an expectation whose cause is more recent than
the horizon (the audit's moment minus a grace period) is counted as pending, not as broken.
"""

from __future__ import annotations

import datetime as dt

from .booking_ledger import BookingLedger, BookingTrail
from .findings import AuditResult
from .quota_ledger import QuotaLedger, Reservation
from .records import Record, plain
from .ticket_ledger import TicketLedger

SETTLED = ("confirmed", "checked_in", "no_show")


class CrossCheck:
    """Compares the three rebuilt ledgers with one another."""

    def __init__(
        self,
        result: AuditResult,
        quota: QuotaLedger,
        bookings: BookingLedger,
        tickets: TicketLedger,
        horizon: dt.datetime,
        stuck_before: dt.datetime | None = None,
    ) -> None:
        self.result, self.quota, self.bookings, self.tickets, self.horizon = result, quota, bookings, tickets, horizon
        self.stuck_before = stuck_before  # a booking requested before this and still undecided is stuck

    def run(self) -> None:
        for booking_id, trail in self.bookings.in_scope():
            self._booking(booking_id, trail)
        for booking_id, reservations in self.quota.reservations.items():
            self._reservation(booking_id, reservations)
        for booking_id, ticket in self.tickets.tickets.items():
            if self.tickets.scope.covers(ticket.office, ticket.day):
                self._ticket(booking_id, ticket)

    def _recent(self, record: Record | None, pending: str) -> bool:
        """True (and counted as pending) when the next service may simply not have caught up yet."""
        if record is not None and record.timestamp > self.horizon:
            self.result.pending[pending] += 1
            return True
        return False

    def _booking(self, booking_id: str, trail: BookingTrail) -> None:
        subject, reservations = f"booking {booking_id}", self.quota.reservations.get(booking_id, [])
        if trail.status == "requested" and self.stuck_before is not None:
            at = plain(trail.requested.state["at"])  # the service's clock, as the audit's own "now"
            if at < self.stuck_before:
                self.result.add(
                    "booking_stuck_requested",
                    subject,
                    f"requested at {at:%Y-%m-%d %H:%M}Z, still undecided",
                    trail.requested,
                )
        if trail.confirmed is not None:
            self._confirmation(subject, trail, reservations)
            self._ticket_of(booking_id, trail)
        if trail.cancelled is not None and (held := self.quota.holding(booking_id)) is not None:
            if not self._recent(trail.cancelled, "release"):
                self.result.add(
                    "cancellation_not_released",
                    subject,
                    f"cancelled; its slot in {held.name} is still held",
                    trail.cancelled,
                    reservations[0].record,
                )
        ended = trail.ended
        if (
            ended is not None
            and ended.kind in ("Booking.Rejected", "Booking.Withdrawn")
            and booking_id not in self.quota.refused
            and booking_id not in self.quota.released
        ):
            self.result.add(
                "rejection_without_decision",
                subject,
                f"rejected ({ended.state.get('reason')}) but quota neither refused nor withdrew it",
                ended,
            )

    def _confirmation(self, subject: str, trail: BookingTrail, reservations: list[Reservation]) -> None:
        assert trail.confirmed is not None, "asked of confirmed bookings only"
        if not reservations:
            self.result.add(
                "confirmed_without_reservation",
                subject,
                f"confirmed in {' '.join(trail.slot)} with no reservation in the quota store",
                trail.confirmed,
            )
            return
        first, state = reservations[0], trail.confirmed.state
        reserved_slot = (first.session.office, str(first.session.day), first.session.session)
        if reserved_slot != trail.slot or first.number != state["queue_number"]:
            self.result.add(
                "confirmation_mismatch",
                subject,
                f"confirmed {' '.join(trail.slot)} #{state['queue_number']}, "
                f"reserved {' '.join(reserved_slot)} #{first.number}",
                trail.confirmed,
                first.record,
            )

    def _ticket_of(self, booking_id: str, trail: BookingTrail) -> None:
        ticket, subject = self.tickets.tickets.get(booking_id), f"booking {booking_id}"
        if ticket is None:
            if not self._recent(trail.confirmed, "ticket"):
                self.result.add("confirmed_without_ticket", subject, "confirmed, no ticket issued", trail.confirmed)
        elif trail.cancelled is not None and ticket.revoked is None and ticket.checked_in is None:
            if not self._recent(trail.cancelled, "revocation"):
                self.result.add(
                    "ticket_not_revoked", subject, "cancelled, its ticket still valid", trail.cancelled, ticket.issued
                )

    def _reservation(self, booking_id: str, reservations: list[Reservation]) -> None:
        first = reservations[0]
        if not self.quota.scope.covers(first.session.office, first.session.day):
            return
        trail, subject = self.bookings.bookings.get(booking_id), f"booking {booking_id}"
        if trail is None:
            self.result.add(
                "reservation_without_booking",
                subject,
                f"reserved in {first.session.name} #{first.number}; the booking store has no such booking",
                first.record,
            )
            return
        held = self.quota.holding(booking_id)
        if held is not None and trail.status == "moved":  # a rescheduled booking holds exactly one slot
            if not self._recent(trail.ended, "release"):
                self.result.add(
                    "rescheduled_booking_holds_two_slots",
                    subject,
                    f"moved, its old slot in {held.name} is still held",
                    first.record,
                    trail.ended,
                )
            return
        if held is None or trail.status in SETTLED or trail.status in ("cancelled", "voided"):
            return  # reported as cancellation_not_released, or voided_booking_holds_slot (`payment_ledger.py`)
        if trail.status in ("requested", "offered"):  # accepted from the waitlist, its confirmation on the way
            if not self._recent(first.record, "confirmation"):
                self.result.add(
                    "slot_held_without_confirmed_booking",
                    subject,
                    f"reserved in {held.name}, the booking was never confirmed",
                    first.record,
                )
            return
        self.result.add(
            "slot_held_without_confirmed_booking",
            subject,
            f"holds a slot in {held.name} but the booking is {trail.status}",
            first.record,
            trail.ended,
        )

    def _ticket(self, booking_id: str, ticket) -> None:
        trail, subject = self.bookings.bookings.get(booking_id), f"ticket of booking {booking_id}"
        if trail is None or trail.confirmed is None:
            self.result.add(
                "ticket_without_confirmed_booking",
                subject,
                "the booking store has no confirmation for it",
                ticket.issued,
            )
            return
        state = trail.confirmed.state
        if (ticket.office, str(ticket.day), ticket.session) != trail.slot or ticket.queue_number != state[
            "queue_number"
        ]:
            self.result.add(
                "ticket_mismatch",
                subject,
                f"ticket {ticket.office} {ticket.day} {ticket.session} "
                f"#{ticket.queue_number}, booking {' '.join(trail.slot)} #{state['queue_number']}",
                ticket.issued,
                trail.confirmed,
            )
