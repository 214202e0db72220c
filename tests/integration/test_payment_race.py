"""A payment and its deadline race, a thousand times, on two booking replicas sharing one store.

Each booking ends paid or voided, never both; the loser is told (a late payment becomes a refund
owed; a late expiry finds the booking paid); and once quota has read the booking events, a voided
booking holds no slot while a paid one keeps its own.
"""

from __future__ import annotations

import datetime as dt
import random
import threading
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from support import IDENTITY_KEY, NOW, bookable_day, kk, nik

from services.booking.domain import Booking
from services.booking.errors import ConcurrentRequest
from services.booking.main import BookingSettings, build_application
from services.booking.messaging import to_wire
from services.quota.application import QuotaApplication
from shared.events import (
    Applicant,
    BookingCancelled,
    BookingRequested,
    Caller,
    PaymentOutcome,
    RecordPayment,
    RequestBooking,
    SlotReserved,
)
from shared.offices import office_by_code

KEY = "q0wWfQ0u1w3kzS8V4B3Zb2bPZK7kdl0m9xWc6m3cJ3Y="
RACES = 1000
OFFICE = "GRESIK"


@pytest.fixture
def replicas(tmp_path: Path):
    """Two booking applications on one SQLite store, as two booking processes would be."""
    settings = BookingSettings(
        event_store="sqlite", data_dir=tmp_path, cipher_key=KEY, identity_key=IDENTITY_KEY, booking_terms_version=""
    )
    first, second = build_application(settings), build_application(settings)
    yield first, second
    first.close()
    second.close()


def request(serial: int) -> RequestBooking:
    day = bookable_day(3 + serial // 200 * 7)  # 100 per session, two sessions a day: 200 per office day
    return RequestBooking(
        caller=Caller(provider="google", subject=f"racer-{serial}", device_id=f"phone-of-racer-{serial}"),
        idempotency_key=f"race-{serial:06d}",
        kk_number=kk(serial),
        slot={"office": OFFICE, "date": day, "session": "pagi" if serial % 2 else "siang"},
        applicants=[Applicant(name="Racer", nik=nik(serial), birth_date=dt.date(1990, 5, 17))],
    )


def wire_events(app, kind: type) -> list:
    """The booking store's events as they go out on the wire (what quota reads), of one kind."""
    out = []
    for event in app.repository.event_store.recorder.select_notifications(start=1, limit=10**6):
        for _, message in to_wire(app.mapper.to_domain_event(event), 8):
            if isinstance(message, kind):
                out.append(message)
    return out


def confirmed_bookings(app, quota: QuotaApplication) -> list[uuid.UUID]:
    """RACES bookings requested, decided by quota and confirmed (billed), as the pipeline would."""
    views = app.request_bookings([request(i) for i in range(RACES)], NOW)
    quota.apply_batch(wire_events(app, BookingRequested), NOW)
    reserved = []
    for view in views:
        slot = view.slot
        session = quota.quota(office_by_code(slot.office), slot.date, slot.session.value)
        number = session.queue_number(str(view.booking_id))
        assert number is not None, "every racer has a place: capacity is not what this test is about"
        reserved.append(SlotReserved(booking_id=view.booking_id, slot=slot, queue_number=number, remaining=0))
    app.outcomes.apply(reserved, NOW)
    return [v.booking_id for v in views]


def counting_refusals(save, counts: Counter[str]):
    def counted(*aggregates):
        try:
            return save(*aggregates)
        except ConcurrentRequest:
            counts["refused_save"] += 1
            raise

    return counted


def test_a_payment_racing_its_deadline_has_exactly_one_winner_and_a_voided_booking_holds_no_slot(replicas):
    first, second = replicas
    quota = QuotaApplication(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    booking_ids = confirmed_bookings(first, quota)
    rng = random.Random(16)
    outcomes: Counter[str] = Counter()
    pool = ThreadPoolExecutor(2)
    for app in replicas:  # count the saves the store refused: the races were real
        app.writer.save = counting_refusals(app.writer.save, outcomes)

    for booking_id in booking_ids:
        bill = first.view(booking_id).payment
        assert bill is not None
        deadline = bill.deadline  # both contenders live at the deadline itself: pinned clocks
        payer, expirer = (first, second) if rng.random() < 0.5 else (second, first)
        start = threading.Barrier(2)
        pause = [rng.random() * 0.002, rng.random() * 0.002]

        def pay(payer=payer, bill=bill, deadline=deadline, start=start, pause=pause):
            start.wait()
            threading.Event().wait(pause[0])
            command = RecordPayment(
                reference=uuid.uuid4().hex, billing_code=bill.billing_code, amount=bill.amount, paid_at=deadline
            )
            return payer.payments.record(command, deadline)

        def expire(expirer=expirer, booking_id=booking_id, deadline=deadline, start=start, pause=pause):
            start.wait()
            threading.Event().wait(pause[1])
            return expirer.payments.expire([booking_id], deadline)[booking_id]

        paid, voided = pool.submit(pay), pool.submit(expire)
        payment, expiry = paid.result(timeout=30), voided.result(timeout=30)
        if payment.outcome == PaymentOutcome.PAID:
            assert expiry is False, "the expiry lost to the payment and was told: the booking is paid"
            outcomes["paid"] += 1
        else:
            assert payment.outcome == PaymentOutcome.REFUND_OWED, "the payment lost: it is owed back"
            assert expiry is True or first.view(booking_id).status.value == "voided"
            outcomes["voided"] += 1
    pool.shutdown()

    for booking_id in booking_ids:
        events = {type(e).__name__ for e in first.repository.event_store.get(booking_id)}
        assert events >= {"BillIssued"} and len(events & {"Paid", "Voided"}) == 1, f"{booking_id}: {events}"
    assert outcomes["paid"] + outcomes["voided"] == RACES
    assert outcomes["paid"] and outcomes["voided"], f"both sides won some races: {outcomes}"
    assert outcomes["refused_save"], f"some saves raced and the store refused the loser: {outcomes}"
    print(dict(outcomes))

    # Quota reads the booking events (voided bookings go out as cancellations) and releases.
    quota.apply_batch(wire_events(first, BookingCancelled), NOW)
    for booking_id in booking_ids:
        booking: Booking = first.repository.get(booking_id)
        session = quota.quota(office_by_code(booking.office), booking.day, booking.session)
        holds = session.queue_number(str(booking_id)) is not None
        assert holds == (booking.status == "confirmed"), f"{booking_id} is {booking.status}, holds a slot: {holds}"
