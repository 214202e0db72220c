"""Grouped saves decide exactly as one by one would, in one atomic save."""

from __future__ import annotations

import pytest
from booking_story import World, nik

from services.booking.errors import ActiveBookingExists, NikAlreadyBooked


@pytest.mark.parametrize("readers", [1, 4], ids=["read-one-by-one", "read-ahead-in-parallel"])
def test_a_group_of_requests_decides_as_one_by_one_would_and_saves_once(monkeypatch, readers):
    world = World(readers=readers)
    siti, budi, ani = (world.signed_up(s) for s in ("siti", "budi", "ani"))
    requests = [
        world.request(siti, [nik(1)], key="siti-tap-1"),
        world.request(siti, [nik(2)], key="siti-tap-2"),  # a second upcoming booking of siti
        world.request(siti, [nik(1)], key="siti-tap-1"),  # the first, retried
        world.request(budi, [nik(3), nik(1)]),  # siti's NIK
        world.request(ani, [nik(4)]),
    ]
    saves = []
    save = world.app.save
    monkeypatch.setattr(world.app, "save", lambda *aggregates: saves.append(save(*aggregates)))

    outcomes = world.app.request_bookings(requests, world.now)

    first, second, retried, brokered, ani_booking = outcomes
    assert isinstance(second, ActiveBookingExists) and isinstance(brokered, NikAlreadyBooked)
    assert retried.booking_id == first.booking_id
    assert ani_booking.status.value == "requested"
    assert len(saves) == 1
    assert [b.booking_id for b in world.app.bookings(siti)] == [first.booking_id]
    assert world.app.bookings(budi) == []
