"""Identity numbers and contact details: the structure of a NIK and KK, Indonesian phone numbers.

Pure functions that either return the normalised value or raise a named error (which never
shows a full NIK or KK: both are masked, `3174********0001`).
"""

from __future__ import annotations

import datetime as dt
import re

from shared.privacy import mask_number

from .errors import BookingError

# Province codes of Kemendagri (Permendagri 72/2019 and the Papua provinces of 2022).
PROVINCES = frozenset(
    [*range(11, 20), 21, *range(31, 37), *range(51, 54), *range(61, 66), *range(71, 77), 81, 82, *range(91, 97)]
)
PHONE = re.compile(r"^(?:\+62|62|0)(8[1-9]\d{6,10}|[2-7]\d{6,9})$")
EMAIL = re.compile(r"^[^@\s]{1,64}@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$")
NAME = re.compile(r"^[^\W\d_]+(?:[ .,'\-][^\W\d_]*)*$")


class InvalidNik(BookingError):
    """A NIK that is not 16 digits or whose structure is wrong."""

    code = "invalid_nik"
    message_id = "NIK {nik} tidak valid: {reason_id}. Periksa lagi NIK pada KTP atau KK."
    message_en = "NIK {nik} is not valid: {reason_en}. Check the NIK on the ID card or family card."


class InvalidKk(BookingError):
    """A family card (KK) number that is not 16 digits or has no valid region code."""

    code = "invalid_kk"
    message_id = "Nomor KK {kk} tidak valid: harus 16 angka dengan kode wilayah yang benar."
    message_en = "Family card number {kk} is not valid: it must be 16 digits with a valid region code."


class InvalidPhone(BookingError):
    """A phone number that is not an Indonesian one."""

    code = "invalid_phone"
    message_id = "Nomor telepon tidak valid: gunakan format 08xx, 628xx atau +628xx."
    message_en = "The phone number is not valid: use the format 08xx, 628xx or +628xx."


class InvalidProfile(BookingError):
    """A profile field is missing or malformed."""

    code = "invalid_profile"
    message_id = "Data profil tidak valid: {field_id}."
    message_en = "The profile is not valid: {field_en}."


def _nik_error(nik: str, reason_en: str, reason_id: str) -> InvalidNik:
    return InvalidNik(nik=mask_number(nik), reason_en=reason_en, reason_id=reason_id)


def region_is_valid(number: str) -> bool:
    """Province code known, regency and district codes not zero."""
    return int(number[:2]) in PROVINCES and number[2:4] != "00" and number[4:6] != "00"


def nik_birth(nik: str) -> tuple[int, int, int]:
    """(day, month, two-digit year) of the birth date a NIK encodes (women: day + 40)."""
    day = int(nik[6:8])
    return (day - 40 if day > 40 else day), int(nik[8:10]), int(nik[10:12])


def _possible_date(day: int, month: int, year: int) -> bool:
    for century in (1900, 2000):
        try:
            dt.date(century + year, month, day)
            return True
        except ValueError:
            continue
    return False


def check_nik(nik: str, birth_date: dt.date | None = None) -> str:
    """The NIK if its structure is valid (and it encodes `birth_date`, when given)."""
    if not (len(nik) == 16 and nik.isdigit()):
        raise _nik_error(nik, "it must be exactly 16 digits", "harus tepat 16 angka")
    if not region_is_valid(nik):
        raise _nik_error(nik, "unknown region code", "kode wilayah tidak dikenal")
    day, month, year = nik_birth(nik)
    if not _possible_date(day, month, year):
        raise _nik_error(nik, "the birth date in it is not a date", "tanggal lahir di dalamnya tidak valid")
    if nik[12:] == "0000":
        raise _nik_error(nik, "the serial number is 0000", "nomor urut 0000")
    if birth_date and (day, month, year) != (birth_date.day, birth_date.month, birth_date.year % 100):
        raise _nik_error(nik, "it does not match the date of birth", "tidak sesuai dengan tanggal lahir")
    return nik


def check_kk(kk: str) -> str:
    """The family card number if it is 16 digits with a valid region code."""
    if not (len(kk) == 16 and kk.isdigit() and region_is_valid(kk)):
        raise InvalidKk(kk=mask_number(kk) if kk.isdigit() else "?")
    return kk


def normalise_phone(phone: str) -> str:
    """An Indonesian phone number in international form (+62...), spaces and dashes removed."""
    compact = re.sub(r"[\s\-().]", "", phone)
    match = PHONE.match(compact)
    if not match:
        raise InvalidPhone()
    return "+62" + match.group(1)


def check_email(email: str) -> str:
    """The e-mail address, lower-cased, if it looks like one."""
    if len(email) > 254 or not EMAIL.match(email):
        raise InvalidProfile(field_en="the e-mail address is not valid", field_id="alamat e-mail tidak valid")
    return email.lower()


def check_name(name: str) -> str:
    """A full name: letters, spaces and . , ' - only, 1 to 120 characters."""
    clean = " ".join(name.split())
    if not (1 <= len(clean) <= 120 and NAME.match(clean)):
        raise InvalidProfile(field_en="the full name must be letters only", field_id="nama lengkap hanya huruf")
    return clean


def check_birth_date(birth_date: dt.date, today: dt.date) -> dt.date:
    """A date of birth in the past, at most 130 years ago."""
    if not dt.date(today.year - 130, 1, 1) <= birth_date <= today:
        raise InvalidProfile(field_en="the date of birth is not possible", field_id="tanggal lahir tidak mungkin")
    return birth_date
