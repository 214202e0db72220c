"""What the booking service publishes: booking events only, never accounts, devices, claims or personal data."""

from __future__ import annotations

from booking_story import World, kk, nik

from services.booking.messaging import to_wire
from shared.events import SlotWithdrawn


def published(world: World) -> list[tuple[str, object]]:
    notifications = world.app.recorder.select_notifications(start=1, limit=1000)
    return [pair for n in notifications for pair in to_wire(world.app.mapper.to_domain_event(n), partitions=8)]


def test_only_booking_events_go_out_and_they_carry_no_personal_data():
    world = World()
    siti = world.signed_up("siti")
    booking = world.book(siti, [nik(1), nik(2)], kk_number=kk(5))
    world.confirm(booking.booking_id, queue_number=3)
    world.app.cancel(siti, booking.booking_id, world.now)

    messages = published(world)

    assert [m.type for _, m in messages] == ["BookingRequested", "BookingConfirmed", "BookingCancelled"]
    assert all(subject.startswith("paspor.booking.p") for subject, _ in messages)
    wire = "".join(m.model_dump_json() for _, m in messages)
    assert nik(1) not in wire and kk(5) not in wire and "Applicant" not in wire


def test_a_withdrawn_booking_goes_out_as_rejected_because_the_office_closed():
    world = World()
    booking = world.book(world.signed_up("siti"), [nik(1)])
    world.confirm(booking.booking_id)
    slot = world.app.accounts.bookings(world.caller("siti"))[0].slot
    world.app.outcomes.apply([SlotWithdrawn(booking_id=booking.booking_id, slot=slot, reason="flood")], world.now)

    last = published(world)[-1][1]

    assert (last.type, last.reason) == ("BookingRejected", "office_closed")
