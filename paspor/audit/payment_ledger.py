"""Replays the payment holds in the booking store: bills, payments, voided bookings; checks their invariants.

- no paid booking is voided (a payment that came too late is recorded as a refund owed instead);
- every billing code bills exactly one booking, and every payment that paid a booking is matched to
  exactly one billing code, the one that booking was billed with, and to that booking's one payment;
- (with quota's ledger, `check_slots`) no voided booking still holds a slot.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass

from .booking_ledger import BookingLedger
from .findings import AuditResult
from .quota_ledger import QuotaLedger
from .records import Record, ident, plain


@dataclass
class Hold:
    """One booking's bill, payment and voiding, as replayed."""

    code: str
    billed: Record
    paid: Record | None = None
    voided: Record | None = None


class PaymentLedger:
    """Bills, billing codes, payments and voidings of the booking store."""

    kinds = frozenset(
        {"Booking.BillIssued", "Booking.Paid", "Booking.Voided", "BillingCode.Issued", "Payment.Recorded"}
    )

    def __init__(self, result: AuditResult, bookings: BookingLedger) -> None:
        self.result, self.bookings = result, bookings
        self.holds: dict[str, Hold] = {}  # booking id -> its hold
        self.codes: dict[str, str] = {}  # billing code -> the booking its BillingCode aggregate names
        self.payments: dict[str, Record] = {}  # provider reference -> its Payment.Recorded
        self.outcomes: Counter[str] = Counter()

    def apply(self, record: Record) -> None:
        kind, state, booking_id = record.kind, record.state, record.aggregate_id
        if kind == "Booking.BillIssued":
            self.holds[booking_id] = Hold(state["billing_code"], record)
        elif kind == "BillingCode.Issued":
            self.codes[state["code"]] = ident(plain(state["booking_id"]))
        elif kind == "Payment.Recorded":
            self.payments[state["reference"]] = record
            self.outcomes[state["outcome"]] += 1
        elif (hold := self.holds.get(booking_id)) is not None:
            if kind == "Booking.Paid":
                hold.paid = record
            else:
                hold.voided = record
                self._voided(booking_id, hold, record)

    def _voided(self, booking_id: str, hold: Hold, record: Record) -> None:
        trail = self.bookings.bookings.get(booking_id)
        if trail is not None:
            trail.status, trail.ended = "voided", record
        if hold.paid is not None:
            self._add(
                booking_id,
                "paid_booking_voided",
                f"booking {booking_id}",
                "voided after it was paid",
                hold.paid,
                record,
            )

    def _add(self, booking_id: str, code: str, subject: str, detail: str, *records: Record) -> None:
        if self.covers(booking_id):
            self.result.add(code, subject, detail, *records)

    def check(self) -> None:
        """The matching invariants, once the whole store is read."""
        billed_by = Counter(hold.code for hold in self.holds.values())
        for booking_id, hold in self.holds.items():
            holder = self.codes.get(hold.code)
            if billed_by[hold.code] > 1 or (holder is not None and holder != booking_id):
                self._add(
                    booking_id,
                    "billing_code_reused",
                    f"billing code {hold.code}",
                    f"bills booking {booking_id} and another",
                    hold.billed,
                )
        paid_by: Counter[str] = Counter()
        for reference, record in self.payments.items():
            if record.state["outcome"] != "paid":
                continue
            booking_id = ident(plain(record.state["booking_id"]) or "")
            paid, subject = self.holds.get(booking_id), f"payment {reference}"
            if paid is None or paid.code != record.state["billing_code"] or self.codes.get(paid.code) != booking_id:
                self._add(booking_id, "payment_unmatched", subject, f"paid booking {booking_id}: no such bill", record)
                continue
            paid_by[booking_id] += 1
            if paid.paid is None or paid.paid.state["reference"] != reference:
                self._add(
                    booking_id,
                    "payment_matched_twice",
                    subject,
                    f"booking {booking_id} records no such payment",
                    record,
                )
        for booking_id, hold in self.holds.items():
            if hold.paid is not None and paid_by[booking_id] != 1:
                self._add(
                    booking_id,
                    "payment_matched_twice",
                    f"booking {booking_id}",
                    f"paid, matched to {paid_by[booking_id]} recorded payments",
                    hold.paid,
                )

    def check_slots(self, quota: QuotaLedger, horizon: dt.datetime) -> None:
        """No voided booking holds a slot (a voiding more recent than the horizon is pending, not broken)."""
        for booking_id, hold in self.holds.items():
            holder = self.bookings.moved.get(booking_id, booking_id)  # a rescheduled booking's slot: its move's
            if hold.voided is None or not self.covers(booking_id) or (held := quota.holding(holder)) is None:
                continue
            if hold.voided.timestamp > horizon:
                self.result.pending["release"] += 1
                continue
            self._add(
                booking_id,
                "voided_booking_holds_slot",
                f"booking {booking_id}",
                f"voided for non-payment; its slot in {held.name} is still held",
                hold.voided,
            )

    def covers(self, booking_id: str) -> bool:
        """Whether a booking is in the audit's scope (its office and date)."""
        trail = self.bookings.bookings.get(booking_id)
        return trail is None or self.bookings.scope.covers(trail.office, trail.day)

    def totals(self) -> dict[str, int]:
        """Of the bookings in scope: billed, paid, voided; the refunds owed; every refused payment."""
        holds = [h for b, h in self.holds.items() if self.covers(b)]
        owed = [r for r in self.payments.values() if r.state["outcome"] == "refund_owed"]
        return {
            "billed": len(holds),
            "paid": sum(1 for h in holds if h.paid is not None),
            "voided_unpaid": sum(1 for h in holds if h.voided is not None),
            "refunds_owed": sum(1 for r in owed if self.covers(ident(plain(r.state["booking_id"]) or ""))),
            "payments_refused": self.outcomes["unknown_billing_code"] + self.outcomes["wrong_amount"],
        }


class BookingStoreLedgers:
    """The booking store's two ledgers, fed from one replay."""

    def __init__(self, bookings: BookingLedger, payments: PaymentLedger) -> None:
        self.bookings, self.payments = bookings, payments
        self.kinds = bookings.kinds | payments.kinds

    def apply(self, record: Record) -> None:
        if record.kind in self.payments.kinds:
            self.payments.apply(record)
        else:
            self.bookings.apply(record)
