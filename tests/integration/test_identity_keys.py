"""The NIK claims' keyed ids: a booking service with another key will not start, and a rotation keeps every claim.

A store's claims are re-keyed by `paspor keys rotate-identity`; afterwards no id made with the old key
(or none, as before keyed ids) is left, the anti-broker rule still holds, and the audit is clean.
"""

from __future__ import annotations

import base64
import sqlite3
import uuid
from pathlib import Path

import psycopg
import pytest
from support import bookable_day
from typer.testing import CliRunner

from paspor.audit import Scope, run_audit
from paspor.audit.sample import Pipeline, citizen, nik, request
from paspor.cli import app as cli
from services.booking.domain import NikClaim
from services.booking.errors import NikAlreadyBooked
from services.booking.identity_key import IdentityKeyInUse, IdentityKeyMismatch
from services.booking.main import BookingSettings, build_application
from shared.events import Applicant, derived_id, utcnow
from shared.runtime.store import pseudonyms_of

OFFICE = "GRESIK"


@pytest.fixture(params=["sqlite", "postgres"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> dict:
    if request.param == "postgres":
        return {
            "data_dir": tmp_path,
            "event_store": "postgres",
            "postgres_url": request.getfixturevalue("fresh_postgres"),
        }
    return {"data_dir": tmp_path, "event_store": "sqlite"}


def cli_args(store: dict) -> list[str]:
    args = ["--data-dir", str(store["data_dir"]), "--event-store", store["event_store"]]
    return [*args, "--postgres-url", store["postgres_url"]] if "postgres_url" in store else args


def stored_ids(store: dict) -> set[str]:
    """Every aggregate id in the raw booking store."""
    if store["event_store"] == "sqlite":
        with sqlite3.connect(store["data_dir"] / "booking.sqlite") as db:
            return {str(uuid.UUID(i)) for (i,) in db.execute("SELECT DISTINCT originator_id FROM stored_events")}
    with psycopg.connect(store["postgres_url"]) as db:
        return {str(i) for (i,) in db.execute("SELECT DISTINCT originator_id FROM booking_events")}


def three_booked(store: dict) -> Pipeline:
    pipeline = Pipeline(**store)
    now = utcnow()
    pipeline.sign_up(range(3), now)
    pipeline.book([request(i, OFFICE, bookable_day(3), "pagi") for i in range(3)], now)
    statuses = [pipeline.booking.accounts.bookings(citizen(i))[0].status.value for i in range(3)]
    assert statuses == ["confirmed"] * 3
    return pipeline


def test_a_rotation_moves_every_claim_to_the_new_key_and_leaves_no_old_id(store: dict):
    pipeline = three_booked(store)
    old = {str(NikClaim.id_for(nik(i), pipeline.booking.pseudonyms)) for i in range(3)}
    pipeline.close()
    assert old <= stored_ids(store), "the claims are stored under the first key"

    result = CliRunner().invoke(cli, ["keys", "rotate-identity", *cli_args(store)])

    assert result.exit_code == 0, result.output
    assert "re-keyed 3 NIK claims (3 holding an upcoming booking)" in result.output
    assert not old & stored_ids(store), "no id made with the old key is left"
    again = Pipeline(**store)  # the new key is the data folder's now; the service starts with it
    try:
        client = Applicant(name="Broker's client", nik=nik(1), birth_date="1990-05-17")
        broker = request(50, OFFICE, bookable_day(4), "siang").model_copy(update={"applicants": [client]})
        again.sign_up(range(50, 51), utcnow())
        (refusal,) = again.booking.request_bookings([broker], utcnow())
        assert isinstance(refusal, NikAlreadyBooked), "the moved claim still holds its NIK"
        assert run_audit(again.settings, Scope()).ok, "the audit still proves one upcoming booking per NIK"
    finally:
        again.close()


def test_a_booking_service_with_another_key_refuses_to_start(tmp_path: Path):
    three_booked({"data_dir": tmp_path, "event_store": "sqlite"}).close()
    other = base64.b64encode(b"another identity key, 32 bytes!!").decode()

    with pytest.raises(IdentityKeyMismatch, match="rotate-identity"):
        build_application(BookingSettings(data_dir=tmp_path, identity_key=other))


def test_claims_from_before_keyed_ids_are_refused_until_rotated(tmp_path: Path):
    """A store written with unkeyed uuid5 claim ids (and no key marker) is migrated by the rotation."""
    settings = BookingSettings(data_dir=tmp_path)
    app = build_application(settings)
    legacy = NikClaim(nik=nik(7), claim_id=derived_id("nik", nik(7)))
    legacy.claim("a-booking-from-before")
    app.save(legacy)
    app.close()
    with sqlite3.connect(tmp_path / "booking.sqlite") as db:  # as before keyed ids: no marker
        db.execute("DELETE FROM stored_events WHERE originator_id = ?", (IdentityKeyInUse.ID.hex,))
    with pytest.raises(IdentityKeyMismatch, match="predates keyed"):
        build_application(settings)

    result = CliRunner().invoke(cli, ["keys", "rotate-identity", "--data-dir", str(tmp_path)])

    assert result.exit_code == 0, result.output
    assert str(derived_id("nik", nik(7))) not in stored_ids({"data_dir": tmp_path, "event_store": "sqlite"})
    app = build_application(settings)
    try:
        claim = app.repository.get(NikClaim.id_for(nik(7), pseudonyms_of(settings)))
        assert claim.booking_id == "a-booking-from-before", "the claim keeps the booking it held"
    finally:
        app.close()


def test_a_configured_key_is_rotated_only_to_a_key_given(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("PASPOR_IDENTITY_KEY", base64.b64encode(b"the configured identity key, 32B").decode())
    result = CliRunner().invoke(cli, ["keys", "rotate-identity", "--data-dir", str(tmp_path)])
    assert result.exit_code == 1 and "pass --new-key" in result.output

    result = CliRunner().invoke(cli, ["keys", "rotate-identity", "--data-dir", str(tmp_path), "--new-key", "short"])
    assert result.exit_code == 1 and "base64" in result.output


def test_citizens_stay_who_they_are(tmp_path: Path):
    """The same caller after a rotation is the same account: only NIK claims are re-keyed."""
    pipeline = three_booked({"data_dir": tmp_path, "event_store": "sqlite"})
    before = pipeline.booking.accounts.bookings(citizen(0))
    pipeline.close()
    assert CliRunner().invoke(cli, ["keys", "rotate-identity", "--data-dir", str(tmp_path)]).exit_code == 0
    again = Pipeline(tmp_path)
    try:
        assert again.booking.accounts.bookings(citizen(0)) == before
    finally:
        again.close()
