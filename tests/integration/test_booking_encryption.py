"""Personal data is encrypted at rest: the raw event store, read with plain SQL, shows none of it."""

from __future__ import annotations

import datetime as dt
import sqlite3
from pathlib import Path

import psycopg
import pytest
from support import bookable_day

from services.booking.main import BookingSettings, build_application
from shared.events import Applicant, Caller, RequestBooking, UpdateProfile, utcnow

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


def leaked(rows: list[tuple]) -> list[str]:
    blob = b"".join(bytes(v) if isinstance(v, (bytes, memoryview)) else str(v).encode() for row in rows for v in row)
    return [
        what for what, secret in SECRETS.items() if secret.encode() in blob or secret.lower().encode() in blob.lower()
    ]


def test_the_sqlite_event_store_holds_no_personal_data_in_clear_text(tmp_path: Path):
    fill(BookingSettings(event_store="sqlite", data_dir=tmp_path))

    with sqlite3.connect(tmp_path / "booking.sqlite") as db:
        tables = [name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        rows = [row for table in tables for row in db.execute(f'SELECT * FROM "{table}"')]

    assert len(rows) > 10, "the store holds the events"
    assert leaked(rows) == []


@pytest.mark.postgres
def test_the_postgresql_event_store_holds_no_personal_data_in_clear_text(tmp_path: Path, postgres_url: str):
    fill(BookingSettings(event_store="postgres", postgres_url=postgres_url, data_dir=tmp_path))

    with psycopg.connect(postgres_url) as db:
        tables = [
            name
            for (name,) in db.execute("SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'")
        ]
        rows = [row for table in tables for row in db.execute(f'SELECT * FROM "{table}"').fetchall()]

    assert len(rows) > 10, "the store holds the events"
    assert leaked(rows) == []


def test_without_the_cipher_the_same_data_would_be_readable(tmp_path: Path):
    """The check above can fail: an unencrypted store shows the NIK at once."""
    app = build_application(BookingSettings(event_store="sqlite", data_dir=tmp_path))
    plain = type(app)(
        env={"PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": str(tmp_path / "plain.sqlite")}
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
