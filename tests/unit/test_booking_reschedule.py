"""Rescheduling once, until the day before: each step of the saga is a recorded event on the booking.

A move asks for the new slot under the move's own id; the old slot is released only once the new one is
reserved; a refusal keeps the booking where it was; a booking cancelled while its move waits gives the
new slot back. The wire shows which partition each step goes to.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from booking_story import World, nik, office_day

from services.booking.domain import Rules
from services.booking.errors import DatePast, NotYetReleased, UnknownOfficeCode
from services.booking.messaging import to_wire
from services.booking.moves import AlreadyRescheduled, MoveLink, NotReschedulable, RescheduleTooLate, move_id_for
from shared.draw import DrawWindow
from shared.events import (
    BookingCancelled,
    BookingConfirmed,
    BookingRequested,
    Slot,
    SlotRejected,
    SlotReserved,
    SlotWithdrawn,
)
from shared.events.subjects import partition_of

JAKARTA = ZoneInfo("Asia/Jakarta")


def confirmed(world: World, subject: str = "siti", office: str = "JKT-SEL"):
    caller = world.signed_up(subject)
    view = world.book(caller, [nik(1)], office=office)
    world.confirm(view.booking_id, queue_number=7)
    return caller, world.app.booking(view.booking_id)


def answer(world: World, booking_id, decision: str, slot: Slot, queue_number: int = 3) -> None:
    """The quota's answer to a move, under the move's id."""
    move = move_id_for(booking_id)
    message = (
        SlotReserved(booking_id=move, slot=slot, queue_number=queue_number, remaining=5)
        if decision == "reserved"
        else SlotRejected(booking_id=move, slot=slot, reason=decision)
    )
    world.app.outcomes.apply([message], world.now)


def wire(world: World, booking_id, since: int):
    """The messages the relay publishes for the booking's events after version `since`."""
    events = world.app.repository.event_store.get(booking_id, gt=since)
    return [sent for event in events for sent in to_wire(event, 8)]


def new_slot(world: World, office: str = "JKT-UTR", days: int = 14) -> Slot:
    return Slot(office=office, date=office_day(world.now.date(), days), session="siang")


def test_a_move_asks_for_the_new_slot_on_its_office_partition_and_keeps_the_old_one_held():
    world = World()
    caller, booking = confirmed(world)
    old, version, to = booking.slot, booking.version, new_slot(world)
    view = world.app.reschedule(caller, booking.id, to, world.now)
    assert view.status == "confirmed" and (view.slot.office, view.slot.date) == (old[0], old[1]), "not moved yet"
    ((subject, request),) = wire(world, booking.id, version)
    assert isinstance(request, BookingRequested) and request.booking_id == move_id_for(booking.id)
    assert request.slot == to and not request.waitlist and request.applicants == 1
    assert subject == f"paspor.booking.p{partition_of('JKT-UTR'):02d}.requested"
    link = world.app.repository.get(move_id_for(booking.id))
    assert isinstance(link, MoveLink) and link.booking_id == booking.id
    again = world.app.reschedule(caller, booking.id, to, world.now)
    assert again == view, "a retry of the same move answers the booking as it stands"


def test_once_the_new_slot_is_reserved_the_booking_moves_and_only_then_the_old_slot_is_released():
    world = World()
    caller, booking = confirmed(world)
    old, to = booking.slot, new_slot(world)
    world.app.reschedule(caller, booking.id, to, world.now)
    version = world.app.booking(booking.id).version
    answer(world, booking.id, "reserved", to, queue_number=3)
    moved = world.app.view(booking.id)
    assert (moved.slot, moved.queue_number, moved.status) == (to, 3, "confirmed")
    assert moved.ticket_for == move_id_for(booking.id), "its new ticket is issued under the move's id"
    sent = dict(wire(world, booking.id, version))
    (released,) = [m for m in sent.values() if isinstance(m, BookingCancelled)]
    (ticket,) = [m for m in sent.values() if isinstance(m, BookingConfirmed)]
    assert released.booking_id == booking.id and released.reason == "rescheduled"
    assert (released.slot.office, released.slot.date) == (old[0], old[1])
    assert f"paspor.booking.p{partition_of(old[0]):02d}.cancelled" in sent, "on the old office's partition"
    assert ticket.booking_id == move_id_for(booking.id) and ticket.slot == to and ticket.queue_number == 3
    registrations = world.app.accounts.registrations(caller, world.now)
    assert registrations.used == 1 and registrations.cooldown_until is None, "no cooldown, no new registration"


def test_a_refused_move_keeps_the_booking_intact_and_releases_nothing():
    world = World()
    caller, booking = confirmed(world)
    before = world.app.view(booking.id)
    to = new_slot(world)
    world.app.reschedule(caller, booking.id, to, world.now)
    version = world.app.booking(booking.id).version
    answer(world, booking.id, "sold_out", to)
    after = world.app.view(booking.id)
    assert (after.slot, after.queue_number, after.status) == (before.slot, before.queue_number, "confirmed")
    assert "refused: sold_out" in after.history[-1].detail
    assert wire(world, booking.id, version) == [], "nothing is released"
    world.app.reschedule(caller, booking.id, to, world.now)  # tried again, once a place may have freed
    ((_, retry),) = wire(world, booking.id, version + 1)
    assert retry.booking_id == move_id_for(booking.id, 2), "a new id: quota does not take it for the refused one"
    answer(world, booking.id, "sold_out", to)  # the first attempt's answer, delivered again, changes nothing
    assert world.app.view(booking.id).history[-1].detail.endswith("requested")


def test_a_second_reschedule_is_refused_with_its_reason():
    world = World()
    caller, booking = confirmed(world)
    to = new_slot(world)
    world.app.reschedule(caller, booking.id, to, world.now)
    answer(world, booking.id, "reserved", to)
    events = world.stored_events()
    with pytest.raises(AlreadyRescheduled):
        world.app.reschedule(caller, booking.id, new_slot(world, days=21), world.now)
    assert world.stored_events() == events, "a refusal changes nothing"


def test_from_the_day_before_the_appointment_office_time_a_booking_is_not_moved():
    world = World()
    caller, booking = confirmed(world)
    eve = dt.datetime.combine(booking.day - dt.timedelta(days=1), dt.time(0, 0), world.now.tzinfo)
    world.now = eve - dt.timedelta(hours=7)  # 00:00 in Jakarta on the day before
    with pytest.raises(RescheduleTooLate):
        world.app.reschedule(caller, booking.id, new_slot(world), world.now)
    world.now -= dt.timedelta(minutes=1)  # 23:59 two days before: still allowed
    world.app.reschedule(caller, booking.id, new_slot(world), world.now)


def test_a_booking_cancelled_while_its_move_waits_gives_the_new_slot_back():
    world = World()
    caller, booking = confirmed(world)
    to = new_slot(world)
    world.app.reschedule(caller, booking.id, to, world.now)
    world.app.cancel(caller, booking.id, world.now)
    version = world.app.booking(booking.id).version
    answer(world, booking.id, "reserved", to)
    assert world.app.view(booking.id).status == "cancelled"
    ((subject, released),) = wire(world, booking.id, version)
    assert isinstance(released, BookingCancelled) and released.booking_id == move_id_for(booking.id)
    assert released.slot == to and subject.startswith(f"paspor.booking.p{partition_of('JKT-UTR'):02d}.")


def test_a_moved_booking_cancelled_later_releases_the_slot_held_under_its_move():
    world = World()
    caller, booking = confirmed(world)
    to = new_slot(world)
    world.app.reschedule(caller, booking.id, to, world.now)
    answer(world, booking.id, "reserved", to)
    version = world.app.booking(booking.id).version
    world.app.cancel(caller, booking.id, world.now)
    ((_, released),) = wire(world, booking.id, version)
    assert released.booking_id == move_id_for(booking.id) and released.slot == to


def test_an_unconfirmed_or_unknown_office_move_is_refused():
    world = World()
    caller = world.signed_up("budi")
    view = world.book(caller, [nik(2)])
    with pytest.raises(NotReschedulable, match="requested cannot be rescheduled"):
        world.app.reschedule(caller, view.booking_id, new_slot(world), world.now)
    world.confirm(view.booking_id)
    with pytest.raises(UnknownOfficeCode):
        world.app.reschedule(caller, view.booking_id, new_slot(world, office="NOWHERE"), world.now)
    with pytest.raises(DatePast):
        world.app.reschedule(caller, view.booking_id, new_slot(world, days=-3), world.now)


def test_a_move_into_a_date_whose_release_draw_is_open_is_refused_until_the_draw_is_made():
    window = DrawWindow()
    world = World(rules=Rules(draw=window))
    caller, booking = confirmed(world)
    later = office_day(world.now.date(), world.rules.window_days + 1)  # opens tomorrow: its draw window is open
    release = world.rules.release.opens_at(later, JAKARTA).astimezone(dt.UTC)
    world.now = window.opens(release)
    with pytest.raises(NotYetReleased) as refused:
        world.app.reschedule(caller, booking.id, Slot(office="JKT-UTR", date=later, session="siang"), world.now)
    assert refused.value.retry_after == window.closes(release)


def test_a_moved_booking_voided_unpaid_releases_the_slot_held_under_its_move():
    world = World()
    caller, booking = confirmed(world)
    to = new_slot(world)
    world.app.reschedule(caller, booking.id, to, world.now)
    answer(world, booking.id, "reserved", to)
    version, deadline = world.app.booking(booking.id).version, world.app.view(booking.id).payment.deadline
    assert world.app.payments.expire([booking.id], deadline) == {booking.id: True}
    ((_, released),) = wire(world, booking.id, version)
    assert released.booking_id == move_id_for(booking.id) and released.slot == to and released.reason == "unpaid"


def test_the_old_session_closing_after_the_move_leaves_the_moved_booking_alone():
    world = World()
    caller, booking = confirmed(world)
    old, to = booking.slot, new_slot(world)
    world.app.reschedule(caller, booking.id, to, world.now)
    answer(world, booking.id, "reserved", to)
    old_slot = Slot(office=old[0], date=old[1], session=old[2])
    world.app.outcomes.apply([SlotWithdrawn(booking_id=booking.id, slot=old_slot, reason="flood")], world.now)
    assert world.app.view(booking.id).status == "confirmed", "the old slot is no longer its own"
    world.app.outcomes.apply([SlotWithdrawn(booking_id=move_id_for(booking.id), slot=to, reason="flood")], world.now)
    assert world.app.view(booking.id).status == "rejected", "its new session closing withdraws it"
