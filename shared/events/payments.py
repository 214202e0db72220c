"""Payments: the fee a confirmed booking owes, and the provider's report that it was paid."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import Enum

from pydantic import Field

from .common import Frozen
from .envelope import Message

BillingCode = str  # 15 digits, the last a Luhn check digit (`services/booking/billing.py`)


class PaymentStatus(str, Enum):
    """Where a booking's fee stands."""

    UNPAID = "unpaid"
    PAID = "paid"
    EXPIRED = "expired"  # not paid by the deadline: the booking was voided


class PaymentView(Frozen):
    """What a confirmed booking owes: the billing code to pay at a bank or app, the amount, the deadline."""

    billing_code: BillingCode = Field(pattern=r"^[0-9]{15}$", description="Billing code, 15 digits.")
    amount: int = Field(ge=0, description="Amount in whole rupiah (IDR): the passport fee (PNBP) of every applicant.")
    currency: str = Field(default="IDR", description="Always IDR.")
    deadline: datetime = Field(description="Pay before this (UTC), or the booking is voided and its slot released.")
    status: PaymentStatus = Field(description="unpaid, paid, or expired (voided).")
    paid_at: datetime | None = Field(default=None, description="When it was paid, once paid.")


class RecordPayment(Message):
    """Command (from the gateway, after checking the provider's signature): a payment was made."""

    reference: str = Field(min_length=1, max_length=100, description="The provider's own id of this payment.")
    billing_code: str = Field(min_length=1, max_length=32, description="The billing code paid.")
    amount: int = Field(ge=0, le=10**12, description="Amount paid, whole rupiah.")
    paid_at: datetime = Field(description="When the provider says it was paid.")


class PaymentOutcome(str, Enum):
    """What became of a reported payment."""

    PAID = "paid"
    REFUND_OWED = "refund_owed"  # the booking was no longer held: voided, cancelled, or paid already
    UNKNOWN_BILLING_CODE = "unknown_billing_code"
    WRONG_AMOUNT = "wrong_amount"


class PaymentRecordedView(Frozen):
    """Reply to RecordPayment: the outcome, and whether this callback was a duplicate (it changed nothing)."""

    reference: str = Field(description="The provider's id of the payment.")
    outcome: PaymentOutcome = Field(description="paid, refund_owed, unknown_billing_code or wrong_amount.")
    booking_id: uuid.UUID | None = Field(default=None, description="The booking billed with that code, if any.")
    duplicate: bool = Field(default=False, description="True: this payment was reported before; nothing changed.")
    detail: str = Field(default="", description="Why, for a refusal or a refund.")
