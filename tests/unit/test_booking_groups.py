"""Grouped saves decide exactly as one by one would, in one atomic save."""

from __future__ import annotations

import pytest
from booking_story import World, nik

from services.booking.errors import ActiveBookingExists, NikAlreadyBooked
from services.booking.intake import aggregates_of
from services.booking.unit import Unit


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
    assert [b.booking_id for b in world.app.accounts.bookings(siti)] == [first.booking_id]
    assert world.app.accounts.bookings(budi) == []


def test_a_double_tap_gets_its_booking_when_another_replica_saved_it_while_this_one_was_deciding(monkeypatch):
    world = World()
    siti = world.signed_up("siti")
    tap = world.request(siti, [nik(1)], key="siti-double-tap")
    booking_id = aggregates_of(tap, world.app.pseudonyms)[0]
    other_replica: list = []
    load = Unit._load

    def looked_just_before_the_other_replica_saved(unit, aggregate_id):  # noqa: ANN001, ANN202
        found = load(unit, aggregate_id)
        if aggregate_id == booking_id and found is None and not other_replica:
            other_replica.append("deciding")
            other_replica.append(world.app.request_booking(tap, world.now))
        return found

    monkeypatch.setattr(Unit, "_load", looked_just_before_the_other_replica_saved)

    answer = world.app.request_booking(tap, world.now)

    assert answer.booking_id == other_replica[-1].booking_id
    assert [b.booking_id for b in world.app.accounts.bookings(siti)] == [answer.booking_id]
