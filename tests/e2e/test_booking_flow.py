"""One booking, through the gateway, to a QR ticket that verifies with the public key alone."""

from __future__ import annotations

import io
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
import zxingcpp
from PIL import Image
from support import bookable_day, booking_body, refusal_reason, sign_in, signing

from services.notifier.keys import load_public_keys
from services.notifier.signing import TicketInvalid, verify
from shared import clock

# The system is shared by the whole test session: a story that expects queue number 1 books a session
# that no other test books (no other test on the shared system books BLITAR at all).
FIRST_IN_LINE = ("BLITAR", bookable_day(), "pagi")


@pytest.fixture
def client(system):
    with signing(httpx.Client(base_url=system.gateway_url, timeout=30)) as http:
        yield http


def wait_for_ticket(client, citizen, booking_id, suffix="") -> httpx.Response:
    deadline = time.monotonic() + 20
    while True:
        response = client.get(f"/v1/bookings/{booking_id}/ticket{suffix}", headers=citizen.headers())
        if response.status_code != 404 or time.monotonic() > deadline:
            return response
        time.sleep(0.1)


def test_a_booking_is_confirmed_with_a_queue_number_and_its_qr_ticket_verifies_offline(system, client):
    citizen = sign_in(client, "siti@example.com")
    office, day, session = FIRST_IN_LINE
    body = booking_body(office, day, session, serial=1, applicants=3)

    response = client.post("/v1/bookings", json=body, headers=citizen.headers("key-siti-0001"))

    assert response.status_code == 201, response.text
    booking = response.json()
    assert booking["status"] == "confirmed" and booking["queue_number"] == 1
    png = wait_for_ticket(client, citizen, booking["booking_id"], ".png")
    assert png.status_code == 200 and png.headers["content-type"] == "image/png"
    (decoded,) = zxingcpp.read_barcodes(Image.open(io.BytesIO(png.content)))
    keys = load_public_keys(system.data_dir / "keys" / "ticket-public-keys.json")
    claims = verify(decoded.text, keys, now=clock.now())
    assert str(claims.booking_id) == booking["booking_id"]
    assert (claims.office, claims.day, claims.session) == FIRST_IN_LINE
    assert claims.queue_number == 1 and claims.applicants == 3
    forged = decoded.text[:-4] + ("AAAA" if not decoded.text.endswith("AAAA") else "BBBB")
    with pytest.raises(TicketInvalid):
        verify(forged, keys, now=clock.now())


def test_the_same_request_retried_returns_the_same_booking(client):
    citizen = sign_in(client, "budi@example.com")
    body = booking_body("JKT-SEL", bookable_day(), "siang", serial=2)
    first = client.post("/v1/bookings", json=body, headers=citizen.headers("key-budi-0001"))
    again = client.post("/v1/bookings", json=body, headers=citizen.headers("key-budi-0001"))
    assert first.status_code == 201 and again.status_code == 201
    assert first.json()["booking_id"] == again.json()["booking_id"]


def test_a_full_session_never_confirms_the_101st_booking_and_refuses_later_ones(client):
    day = bookable_day(start_in=10)
    citizens = [sign_in(client, f"rush-{i}@example.com") for i in range(102)]

    def book(i: int) -> dict:
        body = booking_body("GRESIK", day, "pagi", serial=1000 + i)
        response = client.post("/v1/bookings", json=body, headers=citizens[i].headers(f"rush-key-{i:04d}"))
        if response.status_code == 409:  # the session was already full: refused at once from the read model
            return {"status": "rejected", "reason": refusal_reason(response)}
        assert response.status_code in (201, 202), response.text
        return settle(client, citizens[i], response.json())

    with ThreadPoolExecutor(max_workers=16) as pool:
        finals = list(pool.map(book, range(101)))
    confirmed = [b for b in finals if b["status"] == "confirmed"]
    rejected = [b for b in finals if b["status"] == "rejected"]
    assert len(confirmed) == 100 and len(rejected) == 1
    assert sorted(b["queue_number"] for b in confirmed) == list(range(1, 101))
    assert rejected[0]["reason"] == "sold_out"

    calendar = client.get("/v1/offices/GRESIK/calendar", params={"start": day.isoformat(), "end": day.isoformat()})
    pagi = next(s for s in calendar.json()["sessions"] if s["session"] == "pagi")
    assert (pagi["booked"], pagi["remaining"], pagi["open"], pagi["reason"]) == (100, 0, False, "sold_out")
    late = client.post(
        "/v1/bookings",
        json=booking_body("GRESIK", day, "pagi", serial=1101),
        headers=citizens[101].headers("rush-key-0101"),
    )
    reason = settle(client, citizens[101], late.json())["reason"] if late.status_code == 202 else refusal_reason(late)
    assert reason == "sold_out"  # at once from the read model, or by the pipeline


def settle(client, citizen, booking: dict) -> dict:
    deadline = time.monotonic() + 30
    while booking["status"] == "requested" and time.monotonic() < deadline:
        time.sleep(0.1)
        booking = client.get(f"/v1/bookings/{booking['booking_id']}", headers=citizen.headers()).json()
    return booking
