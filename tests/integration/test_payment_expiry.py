"""Payment deadlines live in the stored events: a restarted booking service finds every hold again."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from support import IDENTITY_KEY, NOW, bookable_day, kk, nik

from services.booking.expiry import Holds
from services.booking.main import BookingSettings, build_application
from shared.events import Applicant, Caller, RequestBooking, SlotReserved

KEY = "q0wWfQ0u1w3kzS8V4B3Zb2bPZK7kdl0m9xWc6m3cJ3Y="


def settings(tmp_path: Path, hold_minutes: int = 120) -> BookingSettings:
    return BookingSettings(
        event_store="sqlite",
        data_dir=tmp_path,
        cipher_key=KEY,
        identity_key=IDENTITY_KEY,
        booking_terms_version="",
        booking_payment_hold_minutes=hold_minutes,
    )


def confirmed(app, serial: int):
    command = RequestBooking(
        caller=Caller(provider="google", subject=f"citizen-{serial}", device_id=f"phone-of-citizen-{serial}"),
        idempotency_key=f"booking-{serial:04d}",
        kk_number=kk(serial),
        slot={"office": "GRESIK", "date": bookable_day(5), "session": "pagi"},
        applicants=[Applicant(name="Citizen", nik=nik(serial), birth_date=dt.date(1990, 5, 17))],
    )
    view = app.request_booking(command, NOW)
    app.outcomes.apply(
        [SlotReserved(booking_id=view.booking_id, slot=view.slot, queue_number=serial, remaining=9)], NOW
    )
    return app.view(view.booking_id)


def test_a_restarted_service_voids_the_holds_that_passed_their_deadline_while_it_was_down(tmp_path: Path):
    before = build_application(settings(tmp_path))
    held = [confirmed(before, serial) for serial in (1, 2, 3)]
    before.close()  # the service stops (or dies) with three holds open

    after = build_application(settings(tmp_path))
    try:
        holds = Holds(after, page=2)  # read in pages, as a large store would be
        assert holds.tick(NOW + dt.timedelta(minutes=119)) == []
        assert set(holds.deadlines) == {b.booking_id for b in held}
        assert sorted(holds.tick(NOW + dt.timedelta(hours=2))) == sorted(b.booking_id for b in held)
        assert {after.view(b.booking_id).status.value for b in held} == {"voided"}
    finally:
        after.close()


def test_with_no_fee_asked_a_confirmed_booking_is_held_as_before(tmp_path: Path):
    app = build_application(settings(tmp_path, hold_minutes=0))
    try:
        booking = confirmed(app, 1)
        assert booking.payment is None and booking.status.value == "confirmed"
        assert Holds(app).tick(NOW + dt.timedelta(days=3)) == []
    finally:
        app.close()
