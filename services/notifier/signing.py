"""Signed ticket payloads: compact, free of personal data, verifiable with a public key alone.

Format: ``AP2.<claims>.<signature>``, both parts unpadded base32 (see ``codec.py``: booking id,
office, date, session, queue number, applicants, expiry, key id), so that the QR code uses its
alphanumeric mode and stays at version 7. The signature (Ed25519) covers ``AP2.<claims>``.
Tickets of the first format, ``AP1`` (compact JSON in base64url), still verify.
Reasons a ticket is refused: malformed, unknown_key, revoked_key, bad_signature, expired (here) and
wrong_office, wrong_day, wrong_session (``admission.py``).
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
from collections.abc import Collection
from uuid import UUID

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from .claims import TicketClaims
from .codec import b32, pack_claims, unb32, unpack_claims

PREFIX, LEGACY_PREFIX = "AP2", "AP1"
SESSIONS = {"pagi": "p", "siang": "s"}  # AP1


class TicketInvalid(Exception):
    """A ticket that does not verify; `reason` says why."""

    def __init__(self, reason: str, detail: str) -> None:
        self.reason, self.detail = reason, detail
        super().__init__(f"{reason}: {detail}")


def key_id(public_key: Ed25519PublicKey) -> str:
    """A short, stable id of a public key."""
    raw = public_key.public_bytes(Encoding.Raw, PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:10]


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def sign(claims: TicketClaims, private_key: Ed25519PrivateKey) -> str:
    """The QR payload of a ticket: ``AP2.<claims>.<signature>``, base32 (QR alphanumeric mode)."""
    signed = f"{PREFIX}.{b32(pack_claims(claims))}"
    return f"{signed}.{b32(private_key.sign(signed.encode()))}"


def verify(
    payload: str,
    public_keys: dict[str, Ed25519PublicKey],
    now: dt.datetime,
    revoked: Collection[str] = (),
) -> TicketClaims:
    """The claims of a genuine, unexpired ticket, or TicketInvalid with the reason."""
    parts = payload.strip().split(".")
    if len(parts) != 3 or parts[0] not in (PREFIX, LEGACY_PREFIX):
        raise TicketInvalid("malformed", "not an Antrian Paspor ticket (expected AP2.<claims>.<signature>)")
    try:
        claims, signature = _decode(parts)
    except (ValueError, KeyError, TypeError) as error:
        raise TicketInvalid("malformed", f"the ticket is truncated or altered ({error})") from None
    if claims.key_id in revoked:
        raise TicketInvalid("revoked_key", f"signed with key {claims.key_id}, which was revoked")
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


def _decode(parts: list[str]) -> tuple[TicketClaims, bytes]:
    if parts[0] == PREFIX:
        return unpack_claims(unb32(parts[1])), unb32(parts[2])
    return _claims_v1(json.loads(_unb64(parts[1]))), _unb64(parts[2])


def _claims_v1(body: dict) -> TicketClaims:
    """AP1 (compact JSON, base64url): still verified, no longer issued."""
    if body["v"] != 1:
        raise ValueError(f"unknown version {body['v']}")
    session = {v: k for k, v in SESSIONS.items()}[body["s"]]
    return TicketClaims(
        booking_id=UUID(hex=body["b"]),
        office=str(body["o"]),
        day=dt.datetime.strptime(body["d"], "%Y%m%d").date(),
        session=session,
        queue_number=int(body["q"]),
        applicants=int(body["n"]),
        expires_at=dt.datetime.fromtimestamp(int(body["x"]), dt.UTC),
        key_id=str(body["k"]),
    )
