"""The claims of a ticket as a few bytes, and text that a QR code holds in its compact alphanumeric mode.

AP2 claims, big-endian: version (1 byte), key id (5), booking id (16), day (2: days since 2000-01-01),
session index and applicants (1: high and low nibble), queue number (2), expiry (4: Unix seconds),
office code (the rest, ASCII). 39 bytes for a 7-letter office; with the 64-byte signature, in
unpadded base32 (A-Z, 2-7: QR alphanumeric mode), a ticket is about 171 characters: QR version 7.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import struct
from uuid import UUID

from .claims import TicketClaims

EPOCH = dt.date(2000, 1, 1)
SESSION_ORDER = ("pagi", "siang")
HEAD = struct.Struct(">B5s16sHBHI")
VERSION = 2


def pack_claims(claims: TicketClaims) -> bytes:
    """The claims as bytes (AP2)."""
    head = HEAD.pack(
        VERSION,
        bytes.fromhex(claims.key_id),
        claims.booking_id.bytes,
        (claims.day - EPOCH).days,
        SESSION_ORDER.index(claims.session) << 4 | claims.applicants,
        claims.queue_number,
        int(claims.expires_at.timestamp()),
    )
    return head + claims.office.encode("ascii")


def unpack_claims(data: bytes) -> TicketClaims:
    """Claims from their bytes; ValueError when they are cut short or not AP2 claims."""
    try:
        version, kid, booking, day, packed, queue, expiry = HEAD.unpack_from(data)
    except struct.error as error:
        raise ValueError(f"claims cut short ({error})") from None
    office = data[HEAD.size :].decode("ascii")
    if version != VERSION or not 2 <= len(office) <= 16 or packed >> 4 >= len(SESSION_ORDER):
        raise ValueError("not AP2 claims")
    return TicketClaims(
        booking_id=UUID(bytes=booking),
        office=office,
        day=EPOCH + dt.timedelta(days=day),
        session=SESSION_ORDER[packed >> 4],
        queue_number=queue,
        applicants=packed & 0x0F,
        expires_at=dt.datetime.fromtimestamp(expiry, dt.UTC),
        key_id=kid.hex(),
    )


def b32(data: bytes) -> str:
    return base64.b32encode(data).rstrip(b"=").decode()


def unb32(text: str) -> bytes:
    """Bytes from unpadded base32; only the one canonical spelling is accepted (unused bits zero)."""
    try:
        data = base64.b32decode(text + "=" * (-len(text) % 8))
    except binascii.Error as error:
        raise ValueError(f"not base32 ({error})") from None
    if b32(data) != text:
        raise ValueError("not canonical base32")
    return data
