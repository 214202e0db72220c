"""A real history, written through the services' own applications (no NATS): for tests and benchmarks.

`Pipeline` plays the bus: it reads what each application stored, turns it into wire messages with that
service's own `to_wire`, and hands them to the services that consume them, until nothing new is left.
The stores it leaves behind are exactly what the running services would write.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from pathlib import Path
from typing import Any

from services.booking.errors import BookingError
from services.booking.main import BookingSettings
from services.booking.main import build_application as booking_app
from services.booking.messaging import to_wire as booking_wire
from services.notifier.main import NotifierSettings
from services.notifier.main import build_application as notifier_app
from services.notifier.messaging import to_wire as notifier_wire
from services.quota.main import QuotaSettings
from services.quota.main import build_application as quota_app
from services.quota.wire import to_wire as quota_wire
from shared.events import (
    Applicant,
    BookingCancelled,
    BookingCheckedIn,
    BookingConfirmed,
    BookingNoShow,
    BookingRequested,
    Caller,
    Message,
    RequestBooking,
    SlotRejected,
    SlotReserved,
    SlotsDecided,
    SlotWithdrawn,
)
from shared.sessions import SESSIONS

TO_QUOTA = (BookingRequested, BookingCancelled)
TO_NOTIFIER = (BookingConfirmed, BookingCancelled)
TO_BOOKING = (SlotReserved, SlotRejected, SlotWithdrawn, BookingCheckedIn, BookingNoShow)


def nik(serial: int) -> str:
    """A distinct, structurally valid NIK per serial (born 17 May 1990)."""
    return f"3174{serial // 9999 % 99 + 1:02d}170590{serial % 9999 + 1:04d}"


def citizen(serial: int) -> Caller:
    return Caller(provider="sample", subject=f"citizen-{serial}", device_id=f"device-{serial:08d}")


def request(serial: int, office: str, day: dt.date, session: str, key: str = "first") -> RequestBooking:
    return RequestBooking(
        caller=citizen(serial),
        idempotency_key=f"{key}-{serial:08d}",
        kk_number=f"317401{serial % 10**10:010d}",
        slot={"office": office, "date": day, "session": session},
        applicants=[Applicant(name=f"Applicant {serial}", nik=nik(serial), birth_date="1990-05-17")],
    )


class Pipeline:
    """The three stateful services on one store backend, wired by a synchronous in-process bus."""

    def __init__(self, data_dir: Path, event_store: str = "sqlite", postgres_url: str | None = None) -> None:
        common: dict[str, Any] = {"data_dir": data_dir, "event_store": event_store}
        if postgres_url:
            common["postgres_url"] = postgres_url
        self.settings = BookingSettings(**common)
        self.booking = booking_app(self.settings)
        self.quota = quota_app(QuotaSettings(**common))
        self.notifier = notifier_app(NotifierSettings(**common))
        self.sources = [(self.booking, booking_wire), (self.quota, quota_wire), (self.notifier, notifier_wire)]
        self.positions = [0, 0, 0]

    def sign_up(self, serials: range, now: dt.datetime) -> None:
        for serial in serials:
            self.booking.accounts.accept_terms(citizen(serial), self.booking.rules.terms_version, now)

    def book(self, requests: list[RequestBooking], now: dt.datetime) -> list[Any]:
        results = self.booking.request_bookings(requests, now)
        self.pump(now)
        return results

    def pump(self, now: dt.datetime) -> None:
        """Deliver every stored event's messages to their consumers, until all is quiet."""
        while messages := self._new_messages():
            self._deliver(messages, now)

    def _new_messages(self) -> list[Message]:
        messages: list[Message] = []
        for index, (app, to_wire) in enumerate(self.sources):
            while batch := app.recorder.select_notifications(self.positions[index], 5000, inclusive_of_start=False):
                for notification in batch:
                    for _, message in to_wire(app.mapper.to_domain_event(notification), 8):
                        # A batch of decisions travels as one message; consumers read one per booking.
                        messages.extend(message.expand() if isinstance(message, SlotsDecided) else [message])
                self.positions[index] = batch[-1].id
        return messages

    def _deliver(self, messages: list[Message], now: dt.datetime) -> None:
        if quota := [m for m in messages if isinstance(m, TO_QUOTA)]:
            self.quota.apply_batch(quota, now)
        if outcomes := [m for m in messages if isinstance(m, TO_BOOKING)]:
            self.booking.outcomes.apply(outcomes, now)
        if tickets := [m for m in messages if isinstance(m, TO_NOTIFIER)]:
            self.notifier.apply_batch(tickets, now)

    def close(self) -> None:
        for app, _ in self.sources:
            app.close()


def fill(
    data_dir: Path,
    bookings: int,
    offices: tuple[str, ...],
    days: list[dt.date],
    now: dt.datetime,
    event_store: str = "sqlite",
    postgres_url: str | None = None,
    group: int = 500,
) -> BookingSettings:
    """`bookings` citizens book over the offices' sessions (more than fit: some are refused); a tenth cancel."""
    pipeline = Pipeline(data_dir, event_store, postgres_url)
    slots = [(o, d, s) for o in offices for d in days for s in SESSIONS]
    for start in range(0, bookings, group):
        serials = range(start, min(start + group, bookings))
        pipeline.sign_up(serials, now)
        views = pipeline.book([request(i, *slots[i % len(slots)]) for i in serials], now)
        for serial, view in zip(serials, views, strict=True):
            if serial % 10 == 0 and not isinstance(view, BookingError):
                with contextlib.suppress(BookingError):  # a refused booking cannot be cancelled
                    pipeline.booking.cancel(citizen(serial), view.booking_id, now)
        pipeline.pump(now)
    pipeline.close()
    return pipeline.settings
