"""A booking's life: requested, then confirmed or rejected, then cancelled, checked in or missed."""

from __future__ import annotations

import datetime as dt

from booking_story import World, nik

from services.booking.domain import Rules
from shared.events import BookingCheckedIn, BookingNoShow, Slot


def attendance(world: World, booking_id, checked_in: bool) -> None:
    booking = world.app.booking(booking_id)
    slot = Slot(office=booking.office, date=booking.day, session=booking.session)
    event = (
        BookingCheckedIn(booking_id=booking_id, slot=slot, officer="petugas-7")
        if checked_in
        else BookingNoShow(booking_id=booking_id, slot=slot)
    )
    world.app.outcomes.apply([event], world.now)


def test_a_confirmed_booking_has_a_queue_number_and_its_session_times_in_the_offices_time_zone():
    world = World()
    wayan = world.signed_up("wayan")
    booking = world.book(wayan, [nik(1)], office="DENPASAR", session="siang")

    world.confirm(booking.booking_id, queue_number=37)

    (seen,) = world.app.accounts.bookings(wayan)
    assert (seen.status.value, seen.queue_number, seen.timezone) == ("confirmed", 37, "Asia/Makassar")
    assert seen.starts_at.utcoffset() == dt.timedelta(hours=8)
    assert (seen.starts_at.time(), seen.ends_at.time()) == (dt.time(13, 0), dt.time(16, 0))
    assert [h.status.value for h in seen.history] == ["requested", "confirmed"]


def test_a_rejected_booking_says_why_and_frees_its_niks_and_the_account():
    world = World()
    siti = world.signed_up("siti")
    booking = world.book(siti, [nik(1)])

    world.reject(booking.booking_id, "sold_out")

    assert world.app.accounts.bookings(siti)[0].reason == "sold_out"
    assert world.app.accounts.registrations(siti, world.now).used == 0
    assert world.book(world.signed_up("budi"), [nik(1)]).status.value == "requested"


def test_a_checked_in_booking_is_over_the_account_may_book_after_the_spacing_and_its_niks_are_free():
    world = World()
    siti = world.signed_up("siti")
    booking = world.book(siti, [nik(1)])
    world.confirm(booking.booking_id)

    attendance(world, booking.booking_id, checked_in=True)

    view = world.app.accounts.bookings(siti)[0]
    assert view.status.value == "checked_in" and view.history[-1].detail == "checked in by petugas-7"
    assert world.app.accounts.registrations(siti, world.now).active_booking_id is None
    assert world.book(world.signed_up("budi"), [nik(1)]).status.value == "requested"


def test_a_missed_booking_becomes_no_show_and_stays_counted():
    world = World()
    siti = world.signed_up("siti")
    booking = world.book(siti, [nik(1)])
    world.confirm(booking.booking_id)

    attendance(world, booking.booking_id, checked_in=False)
    attendance(world, booking.booking_id, checked_in=True)  # too late: it stays missed

    assert world.app.accounts.bookings(siti)[0].status.value == "no_show"
    assert world.app.accounts.registrations(siti, world.now).used == 1


def test_the_same_request_retried_with_the_same_key_returns_the_same_booking():
    world = World()
    siti = world.signed_up("siti")
    request = world.request(siti, [nik(1)], key="tap-tap-tap-1")

    first = world.app.request_booking(request, world.now)
    events = world.stored_events()
    again = world.app.request_booking(request, world.now)

    assert again.booking_id == first.booking_id and world.stored_events() == events


def test_a_user_sees_all_their_bookings_newest_first():
    world = World(Rules(spacing_days=0, cooldown_days=0))
    siti = world.signed_up("siti")
    first = world.book(siti, [nik(1)])
    world.app.cancel(siti, first.booking_id, world.now)
    second = world.book(siti, [nik(2)])

    assert [b.booking_id for b in world.app.accounts.bookings(siti)] == [second.booking_id, first.booking_id]
    assert [b.status.value for b in world.app.accounts.bookings(siti)] == ["requested", "cancelled"]


def test_a_booking_whose_session_the_office_closed_is_rejected_and_does_not_count():
    from shared.events import SlotWithdrawn

    world = World()
    siti = world.signed_up("siti")
    booking = world.book(siti, [nik(1)])
    world.confirm(booking.booking_id)
    slot = world.app.accounts.bookings(siti)[0].slot

    world.app.outcomes.apply(
        [SlotWithdrawn(booking_id=booking.booking_id, slot=slot, reason="banjir (flood)")], world.now
    )

    seen = world.app.accounts.bookings(siti)[0]
    assert (seen.status.value, seen.reason, seen.history[-1].detail) == ("rejected", "office_closed", "banjir (flood)")
    assert world.app.accounts.registrations(siti, world.now).used == 0
    assert world.book(siti, [nik(1)]).status.value == "requested"
