"""Billing: the fee a confirmed booking owes, its 15-digit billing code and its payment deadline. Pure.

A billing code is in the style of a state-revenue (SIMPONI) billing code: 15 digits, the last a Luhn
check digit over the first 14, which come from a keyed hash of the booking id (so codes cannot be
guessed from booking ids, and the same booking always gets the same code). Its uniqueness is the
event store's: a `BillingCode` aggregate per code names the one booking it bills.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from shared.events import derived_id
from shared.fees import FeeTable, fee_table
from shared.pseudonyms import Pseudonyms

CODE_DIGITS = 15


@dataclass(frozen=True)
class PaymentPolicy:
    """How long a confirmed booking is held unpaid, and what it costs (`hold` None: no fee asked)."""

    hold: dt.timedelta | None = dt.timedelta(hours=2)
    fees: FeeTable = field(default_factory=fee_table)


def luhn_digit(digits: str) -> str:
    """The Luhn check digit that makes `digits` + it pass the Luhn test."""
    total = 0
    for i, char in enumerate(reversed(digits)):
        d = int(char) * (2 if i % 2 == 0 else 1)
        total += d - 9 if d > 9 else d
    return str((10 - total % 10) % 10)


def is_billing_code(text: str) -> bool:
    """15 digits whose last is the Luhn check digit of the first 14."""
    return len(text) == CODE_DIGITS and text.isdigit() and luhn_digit(text[:-1]) == text[-1]


def billing_code(booking_id: UUID, pseudonyms: Pseudonyms, attempt: int = 0) -> str:
    """The booking's billing code (`attempt` > 0: the next candidate, when a code is taken already)."""
    body = pseudonyms.id_for("billing", f"{booking_id}:{attempt}").int % 10 ** (CODE_DIGITS - 1)
    digits = f"{body:0{CODE_DIGITS - 1}d}"
    return digits + luhn_digit(digits)


def payment_deadline(
    confirmed_at: dt.datetime,
    hold: dt.timedelta,
    day: dt.date,
    zone: dt.tzinfo,
    session_starts: dt.datetime,
    session_ends: dt.datetime | None = None,
) -> dt.datetime:
    """`hold` after confirmation, never later than the day before the appointment (office time).

    A booking confirmed on its own day (when the calendar allows it) must pay before its session starts,
    or, confirmed while its session is under way, before the session ends: a deadline is never in the past.
    """
    day_before_ends = dt.datetime.combine(day, dt.time(0, 0), zone)
    limits = [day_before_ends, session_starts, session_ends or session_starts]
    latest = next((limit for limit in limits if limit > confirmed_at), confirmed_at + hold)
    return min(confirmed_at + hold, latest).astimezone(dt.UTC)


class BillingCode(Aggregate):
    """One billing code and the one booking it bills: the store refuses a second booking with the same code."""

    @staticmethod
    def id_for(code: str) -> UUID:
        return derived_id("billing-code", code)

    @classmethod
    def create_id(cls, code: str, booking_id: UUID) -> UUID:
        return cls.id_for(code)

    @event("Issued")
    def __init__(self, code: str, booking_id: UUID) -> None:
        self.code, self.booking_id = code, booking_id


class Payment(Aggregate):
    """One payment the provider reported (by its own reference), and what became of it.

    Outcomes: `paid` (the booking is paid), `refund_owed` (the booking was no longer held: voided,
    cancelled or paid already), `unknown_billing_code`, `wrong_amount` (refused; nothing changed).
    A second callback for the same reference finds this aggregate and changes nothing.
    """

    @staticmethod
    def id_for(reference: str) -> UUID:
        return derived_id("payment", reference)

    @classmethod
    def create_id(cls, reference: str, **_: Any) -> UUID:
        return cls.id_for(reference)

    @event("Recorded")
    def __init__(
        self,
        reference: str,
        billing_code: str,
        amount: int,
        paid_at: dt.datetime,
        outcome: str,
        booking_id: UUID | None,
        detail: str,
        at: dt.datetime,
    ) -> None:
        self.reference, self.billing_code, self.amount, self.paid_at = reference, billing_code, amount, paid_at
        self.outcome, self.booking_id, self.detail, self.at = outcome, booking_id, detail, at
