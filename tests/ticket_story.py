"""Helpers the ticket stories share: a notifier in memory, confirmations, office clocks."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any
from zoneinfo import ZoneInfo

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from services.notifier.application import NotifierApplication
from services.notifier.signing import key_id
from shared.clock import Clock, FixedClock
from shared.events import BookingCancelled, BookingConfirmed, Slot
from shared.offices import office_by_code

DAY = dt.date(2026, 12, 1)  # a Tuesday


def at(office: str, day: dt.date, hhmm: str) -> dt.datetime:
    """A moment given in an office's local time, as UTC."""
    zone = ZoneInfo(office_by_code(office).timezone)
    return dt.datetime.combine(day, dt.time.fromisoformat(hhmm), zone).astimezone(dt.UTC)


def confirmed(
    office: str = "JKT-SEL", day: dt.date = DAY, session: str = "pagi", queue: int = 7, applicants: int = 2
) -> BookingConfirmed:
    return BookingConfirmed(
        booking_id=uuid.uuid4(),
        slot=Slot(office=office, date=day, session=session),
        applicants=applicants,
        queue_number=queue,
    )


def cancelled(booking: BookingConfirmed) -> BookingCancelled:
    return BookingCancelled(booking_id=booking.booking_id, slot=booking.slot, was_confirmed=True)


class Keys:
    """A keys set as an office device holds it: trusted public keys and revoked key ids."""

    def __init__(self, *private: Ed25519PrivateKey) -> None:
        self.public = {key_id(k.public_key()): k.public_key() for k in private}
        self.revoked: set[str] = set()

    def __call__(self):
        return dict(self.public), frozenset(self.revoked)


ISSUING = at("JKT-SEL", DAY - dt.timedelta(days=7), "10:00")  # when the stories' tickets are issued


def notifier(
    key: Ed25519PrivateKey | None = None,
    keys: Keys | None = None,
    clock: Clock | None = None,
    env: dict[str, str] | None = None,
    **options: Any,
) -> NotifierApplication:
    """A notifier (in memory unless `env` says), started at `clock`'s time (by default ISSUING: DAY's list is kept)."""
    key = key or Ed25519PrivateKey.generate()
    env = env or {"PERSISTENCE_MODULE": "eventsourcing.popo"}
    return NotifierApplication(key, env=env, trusted=keys or Keys(key), clock=clock or FixedClock(ISSUING), **options)


def issue(app: NotifierApplication, *bookings: BookingConfirmed, now: dt.datetime | None = None) -> list[str]:
    """Issue tickets for confirmations; their QR payloads."""
    app.apply_batch(list(bookings), now or ISSUING)
    return [app.ticket(b.booking_id).payload for b in bookings]
