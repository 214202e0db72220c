"""The conventional app the rush compares against keeps the rules a real team's app must keep.

A signed token on every call, the terms first, one device per account, the same answer for the same
idempotency key, one upcoming booking per account and per NIK, and no more bookings than places.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from support import signing

from paspor.rush.baseline import AUDIENCE, ISSUER, TERMS_VERSION
from paspor.rush.baseline_target import BaselineServer
from paspor.rush.release import Release

DAY = dt.date(2027, 3, 2)
NIK = "3174015701900001"


@pytest.fixture(scope="module")
def app(postgres_admin: str) -> Iterator[httpx.Client]:
    server = BaselineServer(postgres_admin, workers=1)
    server.start()
    slots = {("JKT-SEL", DAY, "pagi"): 2, ("JKT-SEL", DAY, "siang"): 2}
    server.open_sessions(Release([DAY], slots, dict.fromkeys(slots, 0)))
    with signing(httpx.Client(base_url=server.base_url, timeout=30)) as client:
        yield client
    assert not any(server.check().values()), server.check()
    server.stop()


def signed_up(app: httpx.Client, subject: str, device: str | None = None) -> dict[str, str]:
    token = app.post("/v1/dev/token", json={"subject": subject}).json()["access_token"]
    headers = {"Authorization": f"Bearer {token}", "X-Device-Id": device or f"device-of-{subject}"}
    assert app.post("/v1/me/terms", json={"version": TERMS_VERSION}, headers=headers).status_code == 200
    return headers


def book(app: httpx.Client, headers: dict[str, str], key: str, nik: str = NIK, session: str = "pagi") -> httpx.Response:
    body = {
        "office": "JKT-SEL",
        "date": DAY.isoformat(),
        "session": session,
        "kk_number": "3174010101200001",
        "applicants": [{"name": "Siti Aminah", "nik": nik, "birth_date": "1990-01-17"}],
    }
    return app.post("/v1/bookings", json=body, headers=headers | {"Idempotency-Key": key})


def test_every_call_needs_a_token_signed_by_the_app_itself(app):
    forged = jwt.encode(
        {"iss": ISSUER, "aud": AUDIENCE, "sub": "mallory", "exp": dt.datetime(2100, 1, 1, tzinfo=dt.UTC)},
        Ed25519PrivateKey.generate(),
        algorithm="EdDSA",
    )

    assert book(app, {"X-Device-Id": "device-000001"}, "key-00001").json()["code"] == "unauthenticated"
    forged_headers = {"Authorization": f"Bearer {forged}", "X-Device-Id": "device-000001"}
    assert book(app, forged_headers, "key-00001").status_code == 401


def test_an_account_books_only_after_the_terms_and_only_from_its_own_device(app):
    token = app.post("/v1/dev/token", json={"subject": "no-terms"}).json()["access_token"]
    no_terms = {"Authorization": f"Bearer {token}", "X-Device-Id": "device-of-no-terms"}
    assert book(app, no_terms, "key-00002", nik="3174015701900002").json()["code"] == "terms_not_accepted"

    headers = signed_up(app, "one-device")
    other_phone = headers | {"X-Device-Id": "another-phone"}
    assert book(app, other_phone, "key-00003", nik="3174015701900003").json()["code"] == "account_bound_to_other_device"


def test_same_key_same_answer_one_upcoming_booking_per_account_and_per_nik_and_no_more_than_the_places(app):
    siti = signed_up(app, "siti")
    first = book(app, siti, "siti-key-1")
    again = book(app, siti, "siti-key-1")
    assert first.status_code == 201 and first.json()["status"] == "confirmed" and first.json()["queue_number"] == 1
    assert again.json() == first.json(), "a double tap or a retry gets the same booking"

    assert book(app, siti, "siti-key-2", nik="3174015701900004").json()["code"] == "active_booking_exists"
    broker = signed_up(app, "broker")
    assert book(app, broker, "broker-key-1").json()["code"] == "nik_already_booked"

    budi = signed_up(app, "budi")
    assert book(app, budi, "budi-key-1", nik="3174015701900005").json()["queue_number"] == 2
    late = book(app, signed_up(app, "late"), "late-key-1", nik="3174015701900006")
    assert (late.json()["status"], late.json()["reason"]) == ("rejected", "sold_out")

    cancelled = app.post(f"/v1/bookings/{first.json()['booking_id']}/cancel", headers=siti)
    assert cancelled.json()["status"] == "cancelled"
    taken_over = book(app, broker, "broker-key-2")
    assert taken_over.json()["status"] == "confirmed", "the NIK and the place are free again"
    assert taken_over.json()["queue_number"] == 3, "a queue number is never handed out twice"
