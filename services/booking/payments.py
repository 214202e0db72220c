"""The payment hold: billing a confirmed booking, recording the provider's payments, voiding unpaid bookings.

Paying and voiding are decided in the `Booking` aggregate and saved through the one `Writer`: when a
payment and the expiry race (two replicas, or a callback and the tick), the event store's optimistic
concurrency lets exactly one save; the loser decides again on the stored state and is told: a late
payment becomes a refund owed, a late expiry finds the booking paid and changes nothing.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
from collections.abc import Iterable
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

from shared.events import PaymentOutcome, PaymentRecordedView, RecordPayment
from shared.offices import office_by_code
from shared.pseudonyms import Pseudonyms

from .billing import BillingCode, Payment, PaymentPolicy, billing_code, is_billing_code, payment_deadline
from .domain import Booking, Rules
from .errors import BookingError
from .outcomes import end
from .payment_errors import NotAwaitingPayment, UnknownBillingCode, WrongAmount
from .unit import Unit
from .writer import Writer

log = logging.getLogger(__name__)
CODE_ATTEMPTS = 8  # candidates tried when a code is taken by another booking (1 in 10^14 each)


class BillingCodesExhausted(RuntimeError):
    """Every candidate billing code of a booking is taken (a broken key, not bad luck)."""


class PaymentActions:
    """Bills, payments and expiries, written through the booking application's writer."""

    def __init__(self, writer: Writer, rules: Rules, pseudonyms: Pseudonyms, policy: PaymentPolicy) -> None:
        self.writer, self.rules, self.pseudonyms, self.policy = writer, rules, pseudonyms, policy

    def bill(self, unit: Unit, booking: Booking, now: dt.datetime) -> None:
        """A booking just confirmed in `unit`: its billing code, amount and deadline (none when no fee is asked)."""
        if self.policy.hold is None:
            return
        zone = ZoneInfo(office_by_code(booking.office).timezone)
        starts, ends = self.rules.session_times(booking.day, booking.session, zone)
        deadline = payment_deadline(now, self.policy.hold, booking.day, zone, starts, ends)
        amount = self.policy.fees.for_applicants(booking.applicants)
        code = self._free_code(unit, booking.id)
        if booking.issue_bill(code, amount, deadline, now):
            unit.add(booking, BillingCode(code=code, booking_id=booking.id))

    def _free_code(self, unit: Unit, booking_id: UUID) -> str:
        for attempt in range(CODE_ATTEMPTS):
            code = billing_code(booking_id, self.pseudonyms, attempt)
            holder = billed_by(unit, code)
            if holder is None or holder == booking_id:
                return code
        raise BillingCodesExhausted(f"booking {booking_id}: {CODE_ATTEMPTS} billing codes all taken")

    def record(self, command: RecordPayment, now: dt.datetime) -> PaymentRecordedView:
        """Record one reported payment and what became of it; a reference reported before changes nothing."""

        def act(unit: Unit) -> PaymentRecordedView:
            earlier = unit.find(Payment.id_for(command.reference))
            if earlier is not None:
                return recorded_view(earlier, duplicate=True)
            outcome, booking_id, detail = self._settle(unit, command, now)
            payment = Payment(
                reference=command.reference,
                billing_code=command.billing_code,
                amount=command.amount,
                paid_at=command.paid_at,
                outcome=outcome.value,
                booking_id=booking_id,
                detail=detail,
                at=now,
            )
            unit.add(payment)
            return recorded_view(payment)

        return self.writer.decide(act)

    def _settle(self, unit: Unit, command: RecordPayment, now: dt.datetime) -> tuple[PaymentOutcome, UUID | None, str]:
        code = command.billing_code
        holder = unit.find(BillingCode.id_for(code)) if is_billing_code(code) else None
        if holder is None:
            return PaymentOutcome.UNKNOWN_BILLING_CODE, None, UnknownBillingCode(billing_code=code).english()
        booking: Booking = unit.existing(holder.booking_id)
        try:
            booking.pay(command.reference, command.amount, now)
        except NotAwaitingPayment as late:
            return PaymentOutcome.REFUND_OWED, booking.id, late.english()
        except WrongAmount as wrong:
            return PaymentOutcome.WRONG_AMOUNT, booking.id, wrong.english()
        unit.add(booking)
        return PaymentOutcome.PAID, booking.id, ""

    def expire(self, booking_ids: Iterable[UUID], now: dt.datetime) -> dict[UUID, bool | BookingError]:
        """Void those of these bookings whose deadline passed unpaid (one save): per booking, voided or not.

        A booking paid meanwhile, ended, or not yet due is left as it is (False): its expiry lost, or
        never was. A save that lost twice to another writer is a `ConcurrentRequest`: try again later.
        """
        ids = list(booking_ids)
        results = self.writer.decide_all([functools.partial(self._void, booking_id=b, now=now) for b in ids])
        for booking_id, result in zip(ids, results, strict=True):
            if isinstance(result, BookingError):
                log.warning("booking %s: expiry not decided (%s); the next tick tries again", booking_id, result.code)
        return dict(zip(ids, results, strict=True))

    def _void(self, unit: Unit, booking_id: UUID, now: dt.datetime) -> bool:
        booking = unit.find(booking_id)
        if not isinstance(booking, Booking) or not booking.void_unpaid(now):
            return False
        unit.add(booking)
        end(unit, booking, self.pseudonyms, given_back=False)  # it counts, like a cancellation, without a cooldown
        return True


def billed_by(unit: Unit, code: str) -> UUID | None:
    """The booking a billing code bills, if any: in this unit, else its one stored event (one read, no snapshot)."""
    code_id = BillingCode.id_for(code)
    if code_id in unit.touched:
        return unit.touched[code_id].booking_id
    issued: Any = next(iter(unit.repository.event_store.get(code_id, limit=1)), None)
    return None if issued is None else issued.booking_id


def recorded_view(payment: Payment, duplicate: bool = False) -> PaymentRecordedView:
    return PaymentRecordedView(
        reference=payment.reference,
        outcome=PaymentOutcome(payment.outcome),
        booking_id=payment.booking_id,
        duplicate=duplicate,
        detail=payment.detail,
    )
