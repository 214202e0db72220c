"""What a ticket is for and what its signed payload claims: plain values that signing, the codec and the sweeps share."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, fields
from typing import Any
from uuid import UUID


@dataclass(frozen=True)
class Appointment:
    """One confirmed booking's place: office, day, session, queue number, and how many applicants come."""

    booking_id: UUID
    office: str
    day: dt.date
    session: str
    queue_number: int
    applicants: int


def appointment_of(source: object) -> dict[str, Any]:
    """An appointment's fields, read off anything that carries them (a ticket, its `Issued` event)."""
    return {field.name: getattr(source, field.name) for field in fields(Appointment)}


@dataclass(frozen=True)
class TicketClaims(Appointment):
    """What a ticket says: its appointment, when it expires, and the id of the key that signed it."""

    expires_at: dt.datetime
    key_id: str
