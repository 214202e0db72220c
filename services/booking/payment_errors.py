"""Named refusals of a payment callback, each with a stable code and a bilingual message."""

from __future__ import annotations

from .errors import BookingError


class PaymentRefused(BookingError):
    """A payment that changed no booking (recorded, so that the provider's report is never lost)."""

    code = "payment_refused"
    message_id = "Pembayaran ditolak."
    message_en = "The payment was refused."


class UnknownBillingCode(PaymentRefused):
    """No booking was billed with this code."""

    code = "unknown_billing_code"
    message_id = "Kode billing {billing_code} tidak dikenal."
    message_en = "Unknown billing code {billing_code}."


class WrongAmount(PaymentRefused):
    """The amount paid is not the amount billed."""

    code = "wrong_amount"
    message_id = "Jumlah pembayaran Rp{paid} tidak sesuai tagihan Rp{billed}."
    message_en = "The amount paid, IDR {paid}, is not the amount billed, IDR {billed}."


class NotAwaitingPayment(BookingError):
    """The booking is not held for payment (voided, cancelled, paid): a payment becomes a refund owed."""

    code = "not_awaiting_payment"
    message_id = "Jadwal ini tidak lagi menunggu pembayaran ({state}); pembayaran akan dikembalikan."
    message_en = "This booking no longer awaits payment ({state}); the payment is owed back."
