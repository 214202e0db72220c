"""A citizen's data is read only from the device their account is bound to; a new phone takes a recovery step."""

from __future__ import annotations

import datetime as dt

import pytest
from booking_story import World, nik

from services.booking.accounts import AccountBoundToOtherDevice, DeviceBoundToOtherAccount, DeviceMoveTooSoon
from services.booking.errors import BookingNotFound

NEW_PHONE = "new-phone-of-siti"


def booked(world: World, subject: str = "siti") -> tuple[object, object]:
    siti = world.signed_up(subject)
    return siti, world.book(siti, [nik(hash(subject) % 9000)])


def test_a_booking_is_read_from_the_owners_bound_device_and_from_no_other():
    world = World()
    siti, booking = booked(world)
    account = world.app.booking(booking.booking_id).account_id
    assert world.app.stored_view(booking.booking_id, account, siti.device_id).booking_id == booking.booking_id
    with pytest.raises(AccountBoundToOtherDevice):  # her device id, learned by a thief, is not his device
        world.app.stored_view(booking.booking_id, account, "the-thiefs-own-device")


def test_another_accounts_device_reads_nothing_and_another_account_does_not_find_the_booking():
    world = World()
    siti, booking = booked(world)
    budi, _ = booked(world, "budi")
    account = world.app.booking(booking.booking_id).account_id
    with pytest.raises(DeviceBoundToOtherAccount):
        world.app.stored_view(booking.booking_id, account, budi.device_id)
    with pytest.raises(BookingNotFound):
        world.app.stored_view(booking.booking_id, world.app.booking(_.booking_id).account_id, budi.device_id)


def test_moving_to_a_new_phone_moves_every_read_and_act_and_leaves_the_old_phone_with_nothing():
    world = World()
    siti, booking = booked(world)
    account = world.app.booking(booking.booking_id).account_id
    moved = world.app.accounts.move_device(world.caller("siti", NEW_PHONE), world.now)
    assert (moved.device_id, moved.previous_device_id, moved.moved_at) == (NEW_PHONE, siti.device_id, world.now)
    assert moved.next_move_at == world.now + dt.timedelta(days=world.rules.device_move_days)
    assert world.app.stored_view(booking.booking_id, account, NEW_PHONE).booking_id == booking.booking_id
    assert world.app.accounts.bookings(world.caller("siti", NEW_PHONE))[0].booking_id == booking.booking_id
    with pytest.raises(AccountBoundToOtherDevice):
        world.app.stored_view(booking.booking_id, account, siti.device_id)
    with pytest.raises(AccountBoundToOtherDevice):
        world.app.accounts.bookings(siti)


def test_moves_to_new_devices_are_limited_in_frequency_but_going_back_to_an_old_phone_is_not():
    """A thief with a freshly stolen token who moves the account cannot lock its owner out for a week."""
    world = World()
    siti, booking = booked(world)
    world.app.accounts.move_device(world.caller("siti", NEW_PHONE), world.now)
    with pytest.raises(DeviceMoveTooSoon) as refused:
        world.app.accounts.move_device(world.caller("siti", "a-third-phone"), world.now + dt.timedelta(days=1))
    assert refused.value.retry_after == world.now + dt.timedelta(days=7)
    back = world.app.accounts.move_device(siti, world.now + dt.timedelta(hours=1))  # her own phone, taken back
    assert (back.device_id, back.previous_device_id) == (siti.device_id, NEW_PHONE)
    account = world.app.booking(booking.booking_id).account_id
    assert world.app.stored_view(booking.booking_id, account, siti.device_id).status == booking.status
    with pytest.raises(AccountBoundToOtherDevice):
        world.app.stored_view(booking.booking_id, account, NEW_PHONE)
    world.now += dt.timedelta(days=7)
    assert world.app.accounts.move_device(world.caller("siti", "a-third-phone"), world.now).device_id == "a-third-phone"


def test_a_phone_bound_to_another_account_cannot_be_taken_over_by_a_move():
    world = World()
    siti, _ = booked(world)
    booked(world, "budi")
    with pytest.raises(DeviceBoundToOtherAccount):
        world.app.accounts.move_device(world.caller("budi", siti.device_id), world.now)


def test_moving_to_the_device_already_bound_records_nothing():
    world = World()
    siti, _ = booked(world)
    account = world.app.repository.get(world.app.booking(_.booking_id).account_id)
    version = account.version
    assert world.app.accounts.move_device(siti, world.now).moved_at is None
    assert world.app.repository.get(account.id).version == version
