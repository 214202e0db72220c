"""A small world for booking stories: an in-memory booking application, a clock, and citizens."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field

from services.booking.application import BookingApplication
from services.booking.domain import Rules
from shared.calendar import is_office_day
from shared.events import Applicant, Caller, RequestBooking, SlotRejected, SlotReserved
from shared.pseudonyms import Pseudonyms

UTC = dt.UTC
TEST_PSEUDONYMS = Pseudonyms(b"a test identity key of 32 bytes!")
MONDAY_MORNING = dt.datetime(2026, 3, 2, 2, 0, tzinfo=UTC)  # 09:00 in Jakarta


def nik(serial: int, birth: dt.date = dt.date(1990, 5, 17), woman: bool = False) -> str:
    """A structurally valid NIK from Jakarta Selatan (31 74 01), one per serial."""
    day = birth.day + (40 if woman else 0)
    return f"317401{day:02d}{birth:%m%y}{serial % 9999 + 1:04d}"


def kk(serial: int) -> str:
    return f"317401{serial % 10**10:010d}"


def office_day(after: dt.date, days: int = 7) -> dt.date:
    day = after + dt.timedelta(days=days)
    while not is_office_day(day):
        day += dt.timedelta(days=1)
    return day


@dataclass
class World:
    """One booking application and a clock that only moves forward when told to."""

    rules: Rules = field(default_factory=Rules)
    now: dt.datetime = MONDAY_MORNING
    readers: int = 1

    def __post_init__(self) -> None:
        self.app = BookingApplication(
            TEST_PSEUDONYMS, env={"PERSISTENCE_MODULE": "eventsourcing.popo"}, rules=self.rules, readers=self.readers
        )

    def caller(self, subject: str, device: str | None = None) -> Caller:
        return Caller(provider="google", subject=subject, device_id=device or f"phone-of-{subject}")

    def signed_up(self, subject: str, device: str | None = None) -> Caller:
        """A citizen who accepted the terms in force."""
        caller = self.caller(subject, device)
        self.app.accounts.accept_terms(caller, self.rules.terms_version, self.now)
        return caller

    def request(
        self,
        caller: Caller,
        niks: list[str],
        key: str | None = None,
        kk_number: str | None = None,
        day: dt.date | None = None,
        office: str = "JKT-SEL",
        session: str = "pagi",
    ) -> RequestBooking:
        return RequestBooking(
            caller=caller,
            idempotency_key=key or uuid.uuid4().hex,
            kk_number=kk_number or kk(1),
            slot={"office": office, "date": day or office_day(self.now.date()), "session": session},
            applicants=[Applicant(name=f"Applicant {n[-4:]}", nik=n, birth_date=dt.date(1990, 5, 17)) for n in niks],
        )

    def book(self, caller: Caller, niks: list[str], **kwargs: object):
        return self.app.request_booking(self.request(caller, niks, **kwargs), self.now)

    def confirm(self, booking_id: uuid.UUID, queue_number: int = 1) -> None:
        booking = self.app.booking(booking_id)
        slot = {"office": booking.office, "date": booking.day, "session": booking.session}
        self.app.outcomes.apply(
            [SlotReserved(booking_id=booking_id, slot=slot, queue_number=queue_number, remaining=9)], self.now
        )

    def reject(self, booking_id: uuid.UUID, reason: str = "sold_out") -> None:
        booking = self.app.booking(booking_id)
        slot = {"office": booking.office, "date": booking.day, "session": booking.session}
        self.app.outcomes.apply([SlotRejected(booking_id=booking_id, slot=slot, reason=reason)], self.now)

    def later(self, **delta: float) -> None:
        self.now += dt.timedelta(**delta)

    def stored_events(self) -> int:
        """How many events the store holds: a refusal must not add any."""
        return self.app.recorder.max_notification_id() or 0
