"""Two booking replicas on one store: the event store itself refuses the loser of a race."""

from __future__ import annotations

import datetime as dt
import random
import uuid
from pathlib import Path

import pytest
from support import IDENTITY_KEY, bookable_day, kk, nik

from services.booking.errors import ActiveBookingExists, NikAlreadyBooked
from services.booking.main import BookingSettings, build_application
from shared.events import Applicant, Caller, RequestBooking, utcnow

KEY = "q0wWfQ0u1w3kzS8V4B3Zb2bPZK7kdl0m9xWc6m3cJ3Y="


@pytest.fixture(params=["sqlite", "postgres"])
def replicas(request, tmp_path: Path):
    """Two applications on one store, as two booking processes would be."""
    settings = {"event_store": request.param, "data_dir": tmp_path, "cipher_key": KEY, "booking_terms_version": ""}
    settings["identity_key"] = IDENTITY_KEY
    if request.param == "postgres":
        settings["postgres_url"] = request.getfixturevalue("postgres_url")
    first = build_application(BookingSettings(**settings))
    second = build_application(BookingSettings(**settings))
    yield first, second
    first.close()
    second.close()


def booking(subject: str, nik_number: str, key: str) -> RequestBooking:
    return RequestBooking(
        caller=Caller(provider="google", subject=subject, device_id=f"phone-of-{subject}"),
        idempotency_key=key,
        kk_number=kk(7),
        slot={"office": "GRESIK", "date": bookable_day(5), "session": "siang"},
        applicants=[Applicant(name="Applicant", nik=nik_number, birth_date=dt.date(1990, 5, 17))],
    )


def test_a_group_that_lost_a_race_to_another_replica_is_decided_again_one_by_one(replicas, monkeypatch):
    first, second = replicas
    run, serial = uuid.uuid4().hex[:8], random.randrange(10**6)
    group = [
        booking(f"siti-{run}", nik(serial), f"siti-{run}-a"),
        booking(f"budi-{run}", nik(serial + 1), f"budi-{run}-a"),
    ]
    rival = booking(f"siti-{run}", nik(serial + 2), f"siti-{run}-b")
    save, won = first.save, []

    def rival_saves_first(*aggregates):
        monkeypatch.setattr(first, "save", save)
        won.append(second.request_booking(rival, utcnow()))  # siti's other tap, answered by the other replica
        return save(*aggregates)

    monkeypatch.setattr(first, "save", rival_saves_first)
    siti, budi = first.request_bookings(group, utcnow())

    assert isinstance(siti, ActiveBookingExists), "the store refused the stale decision; decided again, it is refused"
    assert budi.status.value == "requested", "the rest of the group is saved"
    assert [b.booking_id for b in first.accounts.bookings(group[0].caller)] == [won[0].booking_id]


def test_two_replicas_cannot_both_claim_one_nik(replicas):
    first, second = replicas
    run, wanted = uuid.uuid4().hex[:8], nik(random.randrange(10**6))
    first.request_booking(booking(f"calo-a-{run}", wanted, f"a-{run}-key"), utcnow())

    with pytest.raises(NikAlreadyBooked):
        second.request_booking(booking(f"calo-b-{run}", wanted, f"b-{run}-key"), utcnow())
