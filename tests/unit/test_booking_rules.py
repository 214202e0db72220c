"""Each rule of the rulebook refuses with its named error, says when to try again, and changes nothing."""

from __future__ import annotations

import datetime as dt

import pytest
from booking_story import World, kk, nik, office_day
from pydantic import ValidationError

from services.booking.accounts import AccountBoundToOtherDevice, DeviceBoundToOtherAccount, TermsNotAccepted
from services.booking.domain import Rules
from services.booking.errors import (
    ActiveBookingExists,
    CooldownActive,
    DatePast,
    KkMismatch,
    NikAlreadyBooked,
    NotYetReleased,
    OfficeClosed,
    ProfileRequired,
    RegistrationLimitReached,
    SpacingNotElapsed,
    UnknownOfficeCode,
)
from services.booking.identity import InvalidKk, InvalidNik
from shared.events import UpdateProfile


def refused(world: World, error: type[Exception], request) -> Exception:
    """Assert the request is refused with `error` and that the store did not change."""
    before = world.stored_events()
    with pytest.raises(error) as caught:
        world.app.request_booking(request, world.now)
    assert world.stored_events() == before
    return caught.value


def test_at_most_one_upcoming_booking_per_account():
    world = World()
    siti = world.signed_up("siti")
    world.book(siti, [nik(1)])
    world.later(days=31)

    refused(world, ActiveBookingExists, world.request(siti, [nik(2)]))


def test_at_most_five_registrations_per_account_and_a_cancelled_one_counts():
    world = World(Rules(spacing_days=0, cooldown_days=0))
    siti = world.signed_up("siti")
    for serial in range(4):
        booking = world.book(siti, [nik(serial)])
        world.confirm(booking.booking_id)
        world.app.cancel(siti, booking.booking_id, world.now)
    world.book(siti, [nik(9)])
    world.app.cancel(siti, world.app.accounts.bookings(siti)[0].booking_id, world.now)

    error = refused(world, RegistrationLimitReached, world.request(siti, [nik(10)]))
    assert "5" in error.english() and "5" in error.indonesian()


def test_a_rejected_booking_does_not_count_towards_the_limit():
    world = World(Rules(max_registrations=1))
    siti = world.signed_up("siti")
    rejected = world.book(siti, [nik(1)])
    world.reject(rejected.booking_id)

    booking = world.book(siti, [nik(1)])

    assert booking.status.value == "requested"
    assert world.app.accounts.registrations(siti, world.now).used == 1


def test_second_registration_within_30_days_is_refused_until_the_spacing_ends():
    world = World()
    siti = world.signed_up("siti")
    first = world.book(siti, [nik(1)])
    world.confirm(first.booking_id)
    started = world.now
    _check_in(world, first.booking_id)
    world.later(days=29)

    error = refused(world, SpacingNotElapsed, world.request(siti, [nik(2)]))

    assert error.retry_after == started + dt.timedelta(days=30)
    assert (
        error.retry_after.strftime("%Y-%m-%d") in error.english()
        and error.retry_after.strftime("%Y-%m-%d") in error.indonesian()
    )
    world.later(days=1)
    assert world.book(siti, [nik(2)]).status.value == "requested"


def test_new_registration_within_30_days_of_a_cancellation_is_refused():
    world = World(Rules(spacing_days=0))
    siti = world.signed_up("siti")
    booking = world.book(siti, [nik(1)])
    world.later(days=2)
    world.app.cancel(siti, booking.booking_id, world.now)
    cancelled_at = world.now

    error = refused(world, CooldownActive, world.request(siti, [nik(1)]))

    assert error.retry_after == cancelled_at + dt.timedelta(days=30)
    assert world.app.accounts.registrations(siti, world.now).next_allowed_at == error.retry_after


def test_a_nik_appears_in_at_most_one_upcoming_booking_across_accounts():
    world = World()
    world.book(world.signed_up("siti"), [nik(1), nik(2)])
    budi = world.signed_up("budi")

    error = refused(world, NikAlreadyBooked, world.request(budi, [nik(3), nik(2)]))

    assert nik(2) not in str(error) and "3174********" in error.english()


def test_no_date_in_the_past():
    world = World()
    siti = world.signed_up("siti")
    refused(world, DatePast, world.request(siti, [nik(1)], day=world.now.date() - dt.timedelta(days=1)))


def test_no_date_before_its_quota_is_released():
    world = World()
    siti = world.signed_up("siti")
    far = office_day(world.now.date(), days=70)

    error = refused(world, NotYetReleased, world.request(siti, [nik(1)], day=far))

    opens_in_jakarta = dt.datetime.combine(
        far - dt.timedelta(days=60), dt.time(0, 0), dt.timezone(dt.timedelta(hours=7))
    )
    assert error.retry_after == opens_in_jakarta


def test_no_date_when_the_office_is_closed():
    world = World()
    siti = world.signed_up("siti")
    saturday = world.now.date() + dt.timedelta(days=5)
    error = refused(world, OfficeClosed, world.request(siti, [nik(1)], day=saturday))
    assert "weekend" in error.english() and "akhir pekan" in error.indonesian()
    holiday = dt.date(2026, 3, 20)  # Idul Fitri 1447 H
    world.now = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)
    refused(world, OfficeClosed, world.request(siti, [nik(1)], day=holiday))


def test_no_unknown_office():
    world = World()
    refused(world, UnknownOfficeCode, world.request(world.signed_up("siti"), [nik(1)], office="NOWHERE"))


def test_a_device_binds_to_the_first_account_that_signs_in_on_it():
    world = World()
    world.signed_up("siti", device="shared-phone-1")
    budi = world.caller("budi", device="shared-phone-1")

    refused(world, DeviceBoundToOtherAccount, world.request(budi, [nik(1)]))
    with pytest.raises(DeviceBoundToOtherAccount):
        world.app.accounts.accept_terms(budi, world.rules.terms_version, world.now)


def test_an_account_is_bound_to_one_device():
    world = World()
    world.signed_up("siti", device="siti-phone-1")
    on_a_second_phone = world.caller("siti", device="siti-phone-2")

    refused(world, AccountBoundToOtherDevice, world.request(on_a_second_phone, [nik(1)]))


def test_the_terms_in_force_must_be_accepted_before_the_first_booking():
    world = World()
    siti = world.caller("siti")

    error = refused(world, TermsNotAccepted, world.request(siti, [nik(1)]))

    assert world.rules.terms_version in error.english()
    world.app.accounts.accept_terms(siti, world.rules.terms_version, world.now)
    assert world.book(siti, [nik(1)]).status.value == "requested"


def test_all_applicants_are_on_the_bookers_family_card():
    world = World()
    siti = world.signed_up("siti")
    world.app.accounts.update_profile(
        UpdateProfile(
            caller=siti,
            full_name="Siti Aminah",
            nik=nik(1),
            kk_number=kk(1),
            phone="0812 3456 7890",
            email="siti@example.com",
            birth_date=dt.date(1990, 5, 17),
        ),
        world.now,
    )

    refused(world, KkMismatch, world.request(siti, [nik(1)], kk_number=kk(2)))
    assert world.book(siti, [nik(1)], kk_number=kk(1)).status.value == "requested"


def test_a_profile_may_be_required_before_booking():
    world = World(Rules(profile_required=True))
    refused(world, ProfileRequired, world.request(world.signed_up("siti"), [nik(1)]))


def test_an_applicant_nik_must_have_a_valid_structure_and_match_the_birth_date():
    world = World()
    siti = world.signed_up("siti")
    refused(world, InvalidNik, world.request(siti, ["9974011705900001"]))
    refused(world, InvalidNik, world.request(siti, [nik(1, birth=dt.date(1991, 5, 17))]))
    refused(world, InvalidKk, world.request(siti, [nik(1)], kk_number="0000000000000001"))


def _check_in(world: World, booking_id) -> None:
    from shared.events import BookingCheckedIn

    booking = world.app.booking(booking_id)
    slot = {"office": booking.office, "date": booking.day, "session": booking.session}
    world.app.outcomes.apply([BookingCheckedIn(booking_id=booking_id, slot=slot, officer="petugas-1")], world.now)


def test_a_booking_covers_one_to_five_applicants_with_distinct_niks():
    world = World()
    siti = world.signed_up("siti")
    with pytest.raises(ValidationError, match="once"):
        world.request(siti, [nik(1), nik(1)])
    with pytest.raises(ValidationError, match="at most 5"):
        world.request(siti, [nik(i) for i in range(6)])
    with pytest.raises(ValidationError, match="at least 1"):
        world.request(siti, [])
