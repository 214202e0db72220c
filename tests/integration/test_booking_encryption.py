"""Personal data is encrypted at rest: the raw event store, read with plain SQL, shows none of it.

Not even as an id: the NIK claims' ids are keyed (HMAC), so neither the NIK nor its unkeyed
`uuid5` appears, and guessing NIKs from a known birth date and district finds nothing.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import sqlite3
import uuid
from pathlib import Path

import psycopg
import pytest
from support import IDENTITY_KEY, bookable_day

from services.booking.main import BookingSettings, build_application
from shared.events import Applicant, Caller, RequestBooking, UpdateProfile, derived_id, utcnow

SECRETS = {
    "nik": "3525015705900001",
    "family member's NIK": "3525014203150007",
    "kk": "3525010101200001",
    "name": "Siti Aminah",
    "child's name": "Nur Aisyah",
    "phone": "81234567890",
    "email": "siti.aminah@example.com",
}


def fill(settings: BookingSettings) -> None:
    """A citizen with a profile and a booking for two family members, written through the application."""
    app = build_application(settings)
    siti = Caller(provider="google", subject="siti-aminah-google-id", device_id="phone-siti-0001")
    now = utcnow()
    app.accounts.accept_terms(siti, app.rules.terms_version, now)
    app.accounts.update_profile(
        UpdateProfile(
            caller=siti,
            full_name=SECRETS["name"],
            nik=SECRETS["nik"],
            kk_number=SECRETS["kk"],
            phone="0" + SECRETS["phone"],
            email=SECRETS["email"],
            birth_date=dt.date(1990, 5, 17),
        ),
        now,
    )
    app.request_booking(
        RequestBooking(
            caller=siti,
            idempotency_key="siti-key-0001",
            kk_number=SECRETS["kk"],
            slot={"office": "GRESIK", "date": bookable_day(5), "session": "pagi"},
            applicants=[
                Applicant(name=SECRETS["name"], nik=SECRETS["nik"], birth_date="1990-05-17"),
                Applicant(name=SECRETS["child's name"], nik=SECRETS["family member's NIK"], birth_date="2015-03-02"),
            ],
        ),
        now,
    )
    assert app.accounts.profile(siti).nik == SECRETS["nik"], "and the application reads it back"
    app.close()


IDENTIFIERS = {"nik": SECRETS["nik"], "family member's NIK": SECRETS["family member's NIK"], "kk": SECRETS["kk"]}


def leaked(rows: list[tuple]) -> list[str]:
    """What of the secrets the rows show: in clear, or as the unkeyed uuid5 an id would once have been."""
    blob = b"".join(bytes(v) if isinstance(v, (bytes, memoryview)) else str(v).encode() for row in rows for v in row)
    found = [
        what for what, secret in SECRETS.items() if secret.encode() in blob or secret.lower().encode() in blob.lower()
    ]
    for what, number in IDENTIFIERS.items():
        for kind in ("nik", "kk"):
            unkeyed = derived_id(kind, number)
            if unkeyed.bytes in blob or str(unkeyed).encode() in blob or unkeyed.hex.encode() in blob:
                found.append(f"{what} as uuid5")
    return found


def aggregate_ids(rows: list[tuple]) -> set[uuid.UUID]:
    """The first column of every row read as a UUID where it is one (the stores' originator ids)."""
    ids = set()
    for row in rows:
        with contextlib.suppress(ValueError, TypeError, AttributeError):
            ids.add(row[0] if isinstance(row[0], uuid.UUID) else uuid.UUID(str(row[0])))
    return ids


def guessed_niks(ids: set[uuid.UUID], district: str, birth: dt.date) -> list[str]:
    """The brute force on unkeyed claim ids: every NIK of that district and birth date (either sex)."""
    found = []
    for day in (birth.day, birth.day + 40):  # women's NIKs add 40 to the day
        prefix = f"{district}{day:02d}{birth:%m%y}"
        for serial in range(1, 10_000):
            nik = f"{prefix}{serial:04d}"
            if derived_id("nik", nik) in ids:
                found.append(nik)
    return found


def test_the_sqlite_event_store_holds_no_personal_data_in_clear_text(tmp_path: Path):
    fill(BookingSettings(event_store="sqlite", data_dir=tmp_path))

    with sqlite3.connect(tmp_path / "booking.sqlite") as db:
        tables = [name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        rows = [row for table in tables for row in db.execute(f'SELECT * FROM "{table}"')]

    assert len(rows) > 10, "the store holds the events"
    assert leaked(rows) == []
    assert guessed_niks(aggregate_ids(rows), "352501", dt.date(1990, 5, 17)) == [], (
        "knowing Siti's birth date and district is not enough"
    )


def test_the_brute_force_would_find_a_nik_behind_an_unkeyed_id():
    """The guessing above can succeed: against uuid5 ids it finds Siti's NIK in 20,000 tries."""
    assert guessed_niks({derived_id("nik", SECRETS["nik"])}, "352501", dt.date(1990, 5, 17)) == [SECRETS["nik"]]


@pytest.mark.postgres
def test_the_postgresql_event_store_holds_no_personal_data_in_clear_text(tmp_path: Path, fresh_postgres: str):
    postgres_url = fresh_postgres
    fill(
        BookingSettings(event_store="postgres", postgres_url=postgres_url, data_dir=tmp_path, identity_key=IDENTITY_KEY)
    )

    with psycopg.connect(postgres_url) as db:
        tables = [
            name
            for (name,) in db.execute("SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'")
        ]
        rows = [row for table in tables for row in db.execute(f'SELECT * FROM "{table}"').fetchall()]

    assert len(rows) > 10, "the store holds the events"
    assert leaked(rows) == []
    assert guessed_niks(aggregate_ids(rows), "352501", dt.date(1990, 5, 17)) == [], (
        "knowing Siti's birth date and district is not enough"
    )


def test_without_the_cipher_the_same_data_would_be_readable(tmp_path: Path):
    """The check above can fail: an unencrypted store shows the NIK at once."""
    app = build_application(BookingSettings(event_store="sqlite", data_dir=tmp_path))
    plain = type(app)(
        app.pseudonyms,
        env={"PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": str(tmp_path / "plain.sqlite")},
    )
    app.close()
    caller = Caller(provider="google", subject="x", device_id="phone-x-0001")
    plain.accounts.accept_terms(caller, plain.rules.terms_version, utcnow())
    plain.accounts.update_profile(
        UpdateProfile(
            caller=caller,
            full_name=SECRETS["name"],
            nik=SECRETS["nik"],
            kk_number=SECRETS["kk"],
            phone="0" + SECRETS["phone"],
            email=SECRETS["email"],
            birth_date=dt.date(1990, 5, 17),
        ),
        utcnow(),
    )
    plain.close()
    with sqlite3.connect(tmp_path / "plain.sqlite") as db:
        rows = [row for row in db.execute("SELECT * FROM stored_events")]
    assert {"nik", "kk", "name", "email"} <= set(leaked(rows))
