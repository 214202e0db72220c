"""A booking that waits on a full session's waitlist: waitlisted, offered a held place, then decided."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from booking_story import World, nik

from services.booking.errors import ActiveBookingExists, BookingNotFound, NikAlreadyBooked
from services.booking.messaging import to_wire
from services.booking.offers import NotOffered, offered_booking
from shared.events import BookingRequested
from shared.events.waitlist import BookingOffered, BookingWaitlisted, SlotOffered, SlotWaitlisted


def waiting(world: World, subject: str, niks: list[str]):
    caller = world.signed_up(subject)
    return caller, world.app.request_booking(
        world.request(caller, niks).model_copy(update={"waitlist": True}), world.now
    )


def slot_of(world: World, booking_id: uuid.UUID) -> dict:
    booking = world.app.booking(booking_id)
    return {"office": booking.office, "date": booking.day, "session": booking.session}


def wait_and_offer(world: World, booking_id: uuid.UUID, until: dt.datetime) -> None:
    slot = slot_of(world, booking_id)
    world.app.outcomes.apply([SlotWaitlisted(booking_id=booking_id, slot=slot)], world.now)
    world.app.outcomes.apply(
        [SlotOffered(booking_id=booking_id, slot=slot, queue_number=7, hold_until=until)], world.now
    )


def test_a_waiting_booking_is_waitlisted_then_offered_with_its_held_number_and_deadline():
    world = World()
    siti, booking = waiting(world, "siti", [nik(1)])
    until = world.now + dt.timedelta(minutes=15)
    wait_and_offer(world, booking.booking_id, until)
    view = world.app.view(booking.booking_id)
    assert (view.status.value, view.queue_number, view.hold_until) == ("offered", 7, until)
    assert [h.status.value for h in view.history] == ["requested", "waitlisted", "offered"]
    assert offered_booking(world.app, siti, booking.booking_id).booking_id == booking.booking_id


def test_an_accepted_offer_is_confirmed_and_a_lapsed_one_gives_the_registration_back():
    world = World()
    _, kept = waiting(world, "siti", [nik(1)])
    budi, lapsed = waiting(world, "budi", [nik(2)])
    for booking in (kept, lapsed):
        wait_and_offer(world, booking.booking_id, world.now + dt.timedelta(minutes=15))
    world.confirm(kept.booking_id, queue_number=7)
    world.reject(lapsed.booking_id, "hold_lapsed")
    assert world.app.view(kept.booking_id).status.value == "confirmed"
    assert world.app.view(lapsed.booking_id).reason == "hold_lapsed"
    assert world.app.accounts.registrations(budi, world.now).used == 0
    assert world.book(world.signed_up("wati"), [nik(2)]).status.value == "requested", "its NIK is free again"


def test_one_account_and_one_nik_wait_at_most_once():
    world = World()
    siti, _ = waiting(world, "siti", [nik(1)])
    with pytest.raises(ActiveBookingExists):
        world.app.request_booking(world.request(siti, [nik(3)]).model_copy(update={"waitlist": True}), world.now)
    with pytest.raises(NikAlreadyBooked):
        waiting(world, "budi", [nik(1)])


def test_only_an_offered_booking_of_ones_own_can_be_accepted():
    world = World()
    siti, booking = waiting(world, "siti", [nik(1)])
    with pytest.raises(NotOffered):
        offered_booking(world.app, siti, booking.booking_id)
    wait_and_offer(world, booking.booking_id, world.now + dt.timedelta(minutes=15))
    with pytest.raises(BookingNotFound):
        offered_booking(world.app, world.signed_up("budi"), booking.booking_id)


def test_a_waiting_booking_may_be_cancelled_and_its_niks_are_free():
    world = World()
    siti, booking = waiting(world, "siti", [nik(1)])
    wait_and_offer(world, booking.booking_id, world.now + dt.timedelta(minutes=15))
    assert world.app.cancel(siti, booking.booking_id, world.now).status.value == "cancelled"
    assert world.book(world.signed_up("budi"), [nik(1)]).status.value == "requested"


def test_the_wire_carries_the_wish_to_wait_and_each_step_of_the_wait():
    world = World()
    _, booking = waiting(world, "siti", [nik(1)])
    wait_and_offer(world, booking.booking_id, world.now + dt.timedelta(minutes=15))
    events = world.app.repository.event_store.get(booking.booking_id)
    messages = [m for e in events for _, m in to_wire(e, 8)]
    assert [type(m) for m in messages] == [BookingRequested, BookingWaitlisted, BookingOffered]
    assert messages[0].waitlist and messages[2].queue_number == 7
