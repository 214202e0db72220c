"""Signed ticket payloads: compact, free of personal data, verifiable with a public key alone.

Format: ``AP1.<claims>.<signature>``, both parts base64url without padding; the claims are
compact JSON: v (version), k (key id), b (booking id, hex), o (office), d (date, YYYYMMDD),
s (session: p or s), q (queue number), n (applicants), x (expiry, Unix seconds).
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from uuid import UUID

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

PREFIX = "AP1"
SESSIONS = {"pagi": "p", "siang": "s"}


class TicketInvalid(Exception):
    """A ticket that does not verify; `reason` says why."""

    def __init__(self, reason: str, detail: str) -> None:
        self.reason, self.detail = reason, detail
        super().__init__(f"{reason}: {detail}")


@dataclass(frozen=True)
class TicketClaims:
    """What a ticket says."""

    booking_id: UUID
    office: str
    day: dt.date
    session: str
    queue_number: int
    applicants: int
    expires_at: dt.datetime
    key_id: str


def key_id(public_key: Ed25519PublicKey) -> str:
    """A short, stable id of a public key."""
    raw = public_key.public_bytes(Encoding.Raw, PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:10]


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def sign(claims: TicketClaims, private_key: Ed25519PrivateKey) -> str:
    """The QR payload of a ticket."""
    body = {
        "v": 1, "k": claims.key_id, "b": claims.booking_id.hex, "o": claims.office,
        "d": claims.day.strftime("%Y%m%d"), "s": SESSIONS[claims.session], "q": claims.queue_number,
        "n": claims.applicants, "x": int(claims.expires_at.timestamp()),
    }
    encoded = _b64(json.dumps(body, separators=(",", ":")).encode())
    signed = f"{PREFIX}.{encoded}"
    return f"{signed}.{_b64(private_key.sign(signed.encode()))}"


def verify(payload: str, public_keys: dict[str, Ed25519PublicKey], now: dt.datetime) -> TicketClaims:
    """The claims of a genuine, unexpired ticket, or TicketInvalid with the reason."""
    parts = payload.strip().split(".")
    if len(parts) != 3 or parts[0] != PREFIX:
        raise TicketInvalid("malformed", "not an Antrian Paspor ticket (expected AP1.<claims>.<signature>)")
    try:
        body = json.loads(_unb64(parts[1]))
        signature = _unb64(parts[2])
        claims = _claims(body)
    except (ValueError, KeyError, TypeError) as error:
        raise TicketInvalid("malformed", f"the ticket is truncated or altered ({error})") from None
    key = public_keys.get(claims.key_id)
    if key is None:
        raise TicketInvalid("unknown_key", f"signed with key {claims.key_id}, which is not trusted here")
    try:
        key.verify(signature, f"{parts[0]}.{parts[1]}".encode())
    except InvalidSignature:
        raise TicketInvalid("bad_signature", "the signature does not match: forged or altered") from None
    if now >= claims.expires_at:
        raise TicketInvalid("expired", f"expired at {claims.expires_at:%Y-%m-%d %H:%M} UTC")
    return claims


def _claims(body: dict) -> TicketClaims:
    if body["v"] != 1:
        raise ValueError(f"unknown version {body['v']}")
    session = {v: k for k, v in SESSIONS.items()}[body["s"]]
    return TicketClaims(
        booking_id=UUID(hex=body["b"]), office=str(body["o"]),
        day=dt.datetime.strptime(body["d"], "%Y%m%d").date(), session=session,
        queue_number=int(body["q"]), applicants=int(body["n"]),
        expires_at=dt.datetime.fromtimestamp(int(body["x"]), dt.timezone.utc), key_id=str(body["k"]),
    )
