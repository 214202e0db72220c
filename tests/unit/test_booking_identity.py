"""Identity numbers and contact details: what a NIK encodes, a KK, Indonesian phone numbers, a profile."""

from __future__ import annotations

import datetime as dt

import pytest
from booking_story import World, kk, nik

from services.booking.errors import BookingError
from services.booking.identity import (
    InvalidKk,
    InvalidNik,
    InvalidPhone,
    InvalidProfile,
    check_kk,
    check_nik,
    normalise_phone,
)
from shared.events import UpdateProfile


def test_a_nik_encodes_region_birth_date_and_serial():
    assert check_nik("3174015705900001", dt.date(1990, 5, 17)) == "3174015705900001"


def test_a_womans_nik_adds_40_to_the_day_of_birth():
    assert check_nik(nik(1, birth=dt.date(1985, 12, 3), woman=True), dt.date(1985, 12, 3))
    assert nik(1, birth=dt.date(1985, 12, 3), woman=True)[6:8] == "43"


@pytest.mark.parametrize(
    "bad, why",
    [
        ("317401570590001", "exactly 16 digits"),
        ("31740157059000x1", "exactly 16 digits"),
        ("9974015705900001", "region"),  # no province 99
        ("3100015705900001", "region"),  # regency 00
        ("3174003205900001", "region"),  # district 00
        ("3174013205900001", "birth date"),  # day 32
        ("3174017205900001", "birth date"),  # day 72 (a woman's 32)
        ("3174011713900001", "birth date"),  # month 13
        ("3174011705900000", "serial"),
    ],
)
def test_a_nik_with_a_wrong_structure_is_refused_with_the_reason(bad, why):
    with pytest.raises(InvalidNik) as caught:
        check_nik(bad)
    assert why in caught.value.english()
    assert bad not in caught.value.english() and bad not in caught.value.indonesian()


def test_a_nik_that_does_not_encode_the_date_of_birth_is_refused():
    with pytest.raises(InvalidNik, match="date of birth"):
        check_nik("3174015705900001", dt.date(1990, 5, 18))


def test_a_kk_is_16_digits_with_a_valid_region():
    assert check_kk(kk(42)) == kk(42)
    for bad in ("3174010000", "0074010000000001", "31740100000000ab"):
        with pytest.raises(InvalidKk):
            check_kk(bad)


@pytest.mark.parametrize(
    "phone, normal",
    [
        ("081234567890", "+6281234567890"),
        ("0812-3456-7890", "+6281234567890"),
        ("+62 812 3456 7890", "+6281234567890"),
        ("6281234567890", "+6281234567890"),
        ("(021) 5551234", "+62215551234"),
    ],
)
def test_indonesian_phone_numbers_are_accepted_in_their_usual_formats(phone, normal):
    assert normalise_phone(phone) == normal


@pytest.mark.parametrize("phone", ["+4915112345678", "0012345678", "08123", "0812345678901234", "0800000"])
def test_other_phone_numbers_are_refused(phone):
    with pytest.raises(InvalidPhone):
        normalise_phone(phone)


def profile(world: World, caller, **changes: object) -> UpdateProfile:
    fields = (
        dict(
            full_name="Siti Aminah",
            nik=nik(1),
            kk_number=kk(1),
            phone="0812 3456 7890",
            email="Siti@Example.com",
            birth_date=dt.date(1990, 5, 17),
        )
        | changes
    )
    return UpdateProfile(caller=caller, **fields)


def test_a_profile_is_kept_normalised_and_shown_to_its_owner():
    world = World()
    siti = world.caller("siti")

    world.app.accounts.update_profile(profile(world, siti), world.now)

    saved = world.app.accounts.profile(siti)
    assert (saved.full_name, saved.phone, saved.email, saved.nik) == (
        "Siti Aminah",
        "+6281234567890",
        "siti@example.com",
        nik(1),
    )


@pytest.mark.parametrize(
    "changes, error",
    [
        ({"nik": "3174015705900000"}, InvalidNik),
        ({"birth_date": dt.date(1990, 5, 18)}, InvalidNik),
        ({"kk_number": "12345"}, InvalidKk),
        ({"phone": "+4915112345678"}, InvalidPhone),
        ({"email": "siti-at-example.com"}, InvalidProfile),
        ({"full_name": "S1ti"}, InvalidProfile),
        ({"birth_date": dt.date(2030, 1, 1)}, InvalidProfile),
    ],
)
def test_an_invalid_profile_is_refused_and_nothing_changes(changes, error):
    world = World()
    siti = world.caller("siti")
    before = world.stored_events()

    with pytest.raises(error):
        world.app.accounts.update_profile(profile(world, siti, **changes), world.now)

    assert world.stored_events() == before and world.app.accounts.profile(siti) is None


def every_refusal() -> list[type[BookingError]]:
    import services.booking.accounts  # noqa: F401  (where the account refusals are defined)

    found, todo = [], [BookingError]
    while todo:
        found.append(cls := todo.pop())
        todo.extend(cls.__subclasses__())
    return found


def test_every_refusal_has_a_stable_code_and_a_message_in_indonesian_and_english():
    refusals = every_refusal()
    codes = [cls.code for cls in refusals]
    assert len(set(codes)) == len(codes) and len(codes) > 20
    for cls in refusals:
        assert cls.__doc__ and cls.message_id and cls.message_en and cls.message_id != cls.message_en, cls
