"""The payment provider's callbacks: signed with a shared secret, timestamped, refused outside a window.

The provider signs `<timestamp>.<body>` with HMAC-SHA256 and the shared secret, and sends the
timestamp (Unix seconds) and the hex signature in headers. Signing the timestamp with the body means
an old callback cannot be sent again under a new time; within the window, a callback sent twice is
the same payment (its provider reference) and changes nothing.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import os
from dataclasses import dataclass, field

from shared.clock import Clock, now

TIMESTAMP_HEADER = "X-Payment-Timestamp"
SIGNATURE_HEADER = "X-Payment-Signature"
DEFAULT_WINDOW = dt.timedelta(minutes=5)
PAYMENT_SECRET_FILE = "payment-callback.key"  # in the data folder's keys/, when no secret is configured


class CallbackRefused(Exception):
    """A callback that is not the provider's, or too old or too new to be believed."""

    def __init__(self, code: str, message_en: str, message_id: str) -> None:
        self.code, self.message_en, self.message_id = code, message_en, message_id
        super().__init__(message_en)


def sign(secret: bytes, timestamp: str, body: bytes) -> str:
    """The signature of one callback (what the provider sends, and `paspor pay simulate` makes)."""
    return hmac.new(secret, timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class CallbackCheck:
    """Checks a callback's signature and timestamp (default secret: random, so every callback is refused)."""

    secret: bytes = field(default_factory=lambda: os.urandom(32), repr=False)
    window: dt.timedelta = DEFAULT_WINDOW
    clock: Clock = now

    def verify(self, timestamp: str | None, signature: str | None, body: bytes) -> None:
        """Raise `CallbackRefused` unless the callback is signed with the secret, within the window."""
        if not timestamp or not signature:
            raise CallbackRefused(
                "invalid_signature",
                f"A payment callback needs the {TIMESTAMP_HEADER} and {SIGNATURE_HEADER} headers.",
                f"Callback pembayaran wajib membawa header {TIMESTAMP_HEADER} dan {SIGNATURE_HEADER}.",
            )
        given = signature.removeprefix("sha256=").strip().lower()
        if not hmac.compare_digest(given, sign(self.secret, timestamp, body)):
            raise CallbackRefused(
                "invalid_signature",
                "The payment callback's signature does not match its body.",
                "Tanda tangan callback pembayaran tidak cocok dengan isinya.",
            )
        self._check_time(timestamp)

    def _check_time(self, timestamp: str) -> None:
        try:
            sent = dt.datetime.fromtimestamp(int(timestamp), dt.UTC)
        except (ValueError, OverflowError, OSError):
            raise CallbackRefused(
                "stale_callback",
                f"{TIMESTAMP_HEADER} must be Unix seconds.",
                f"{TIMESTAMP_HEADER} harus berupa detik Unix.",
            ) from None
        if abs(self.clock() - sent) > self.window:
            seconds = int(self.window.total_seconds())
            raise CallbackRefused(
                "stale_callback",
                f"The payment callback was signed at {sent:%Y-%m-%d %H:%M:%S} UTC, more than {seconds} s from now: "
                "a replay is refused.",
                f"Callback pembayaran ditandatangani pada {sent:%Y-%m-%d %H:%M:%S} UTC, lebih dari {seconds} detik "
                "dari sekarang: pengiriman ulang ditolak.",
            )
