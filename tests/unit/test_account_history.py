"""An account refused many times keeps its rules right while its state stays small; its history is paged."""

from __future__ import annotations

import datetime as dt

import pytest
from booking_story import TEST_PSEUDONYMS, World, nik

from services.booking.accounts import RECENT_BOOKINGS, Account
from services.booking.application import BookingApplication
from services.booking.domain import Rules
from services.booking.errors import CooldownActive
from shared.events import UpdateProfile
from shared.runtime.store import store_env

REFUSED = 60


def booking_service(settings, snapshot_every: int = 10) -> BookingApplication:
    """The booking application as the service builds it: personal data encrypted at rest."""
    env = store_env(settings, "booking", encrypt=True)
    return BookingApplication(TEST_PSEUDONYMS, env=env, rules=Rules(), snapshot_every=snapshot_every)


def test_an_account_refused_sixty_times_keeps_its_rules_and_a_small_state_through_a_restart(store_settings):
    world = World()
    world.app = booking_service(store_settings)
    siti = world.signed_up("siti")
    profile = UpdateProfile(
        caller=siti,
        full_name="Siti Aminah",
        nik=nik(1, dt.date(1990, 5, 17)),
        kk_number="3174010000000001",
        phone="0812-3456-7890",
        email="siti@example.id",
        birth_date=dt.date(1990, 5, 17),
    )
    world.app.accounts.update_profile(profile, world.now)
    asked = []
    for _ in range(REFUSED):  # every rush she tried, the session was sold out
        booking = world.book(siti, [nik(1)])
        world.reject(booking.booking_id)
        asked.append(booking.booking_id)
    kept = world.app.accounts.bookings_page(siti)
    assert kept.next_cursor is not None and len(kept.bookings) == 50
    confirmed = world.book(siti, [nik(1)])
    world.confirm(confirmed.booking_id)
    world.app.cancel(siti, confirmed.booking_id, world.now)
    asked.append(confirmed.booking_id)

    account: Account = world.app.repository.get(Account.id_for("google", "siti"))
    assert account.booking_count == REFUSED + 1 and len(account.bookings) == RECENT_BOOKINGS
    assert account.registrations_left(world.now, world.rules).used == 1  # the refused ones gave theirs back
    with pytest.raises(CooldownActive):
        world.app.request_booking(world.request(siti, [nik(1)]), world.now)

    told = world.app.accounts.registrations(siti, world.now)
    if store_settings.event_store != "memory":  # a restarted service: the account from its latest snapshot
        world.app = booking_service(store_settings)
    snapshot = next(iter(world.app.snapshots.get(account.id, desc=True, limit=1)))
    assert snapshot.originator_version > account.version - 10
    again: Account = world.app.repository.get(account.id)
    assert again.version == account.version and again.registrations == account.registrations
    assert again.cooldown_until == account.cooldown_until and again.active_booking is None
    assert world.app.accounts.registrations(siti, world.now) == told
    with pytest.raises(CooldownActive):
        world.app.request_booking(world.request(siti, [nik(1)]), world.now)
    world.later(days=31)
    assert world.book(siti, [nik(1)]).status.value == "requested"  # after the cooldown, she may book again
    asked.append(world.app.accounts.bookings(siti)[0].booking_id)

    # Her whole history, a page of 25 at a time, newest first: nothing missed, nothing twice.
    seen, cursor = [], None
    while True:
        page = world.app.accounts.bookings_page(siti, limit=25, cursor=cursor)
        seen += [b.booking_id for b in page.bookings]
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert seen == list(reversed(asked))
    assert [b.status.value for b in world.app.accounts.bookings(siti)[:3]] == ["requested", "cancelled", "rejected"]

    # The snapshot is encrypted like the events: no name, no subject, no NIK in the stored bytes.
    (stored,) = world.app.snapshots.recorder.select_events(account.id, desc=True, limit=1)
    assert b"Siti" not in stored.state and b"siti" not in stored.state and nik(1).encode() not in stored.state


def test_a_short_history_is_answered_from_the_account_alone():
    world = World()
    siti = world.signed_up("siti")
    first = world.book(siti, [nik(1)])
    world.reject(first.booking_id)
    second = world.book(siti, [nik(1)])
    page = world.app.accounts.bookings_page(siti)
    assert [b.booking_id for b in page.bookings] == [second.booking_id, first.booking_id]
    assert page.next_cursor is None
    one = world.app.accounts.bookings_page(siti, limit=1)
    assert [b.booking_id for b in one.bookings] == [second.booking_id] and one.next_cursor is not None
    rest = world.app.accounts.bookings_page(siti, limit=1, cursor=one.next_cursor)
    assert [b.booking_id for b in rest.bookings] == [first.booking_id] and rest.next_cursor is None
