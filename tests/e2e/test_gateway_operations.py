"""Each gateway operation against the running services (real nats-server, every service)."""

from __future__ import annotations

import json
import time

import httpx
import pytest
from support import bookable_day, booking_body, refusal_reason, sign_in, signing


@pytest.fixture
def client(system):
    with signing(httpx.Client(base_url=system.gateway_url, timeout=30)) as http:
        yield http


def staff(client: httpx.Client, subject: str, role: str, office: str | None = None) -> dict[str, str]:
    token = client.post("/v1/dev/token", json={"subject": subject, "role": role, "office": office}).json()[
        "access_token"
    ]
    return {"Authorization": f"Bearer {token}"}


def eventually(check, seconds: float = 10.0):
    deadline = time.monotonic() + seconds
    while not (result := check()) and time.monotonic() < deadline:
        time.sleep(0.05)
    return result


def calendar_session(client, office: str, day, session: str) -> dict:
    sessions = client.get(f"/v1/offices/{office}/calendar", params={"start": day.isoformat(), "end": day.isoformat()})
    return next(s for s in sessions.json()["sessions"] if s["session"] == session)


def fast_refusals(client) -> float:
    for line in client.get("/metrics").text.splitlines():
        if line.startswith('paspor_gateway_fast_refusals_total{reason="sold_out"}'):
            return float(line.split()[-1])
    return 0.0


def test_a_citizen_books_sees_it_in_their_list_and_the_calendar_then_cancels_it(client):
    citizen, day = sign_in(client, "gw-e2e-ani@example.com"), bookable_day(15)
    before = calendar_session(client, "MALANG", day, "pagi")["booked"]
    booked = client.post(
        "/v1/bookings",
        json=booking_body("MALANG", day, "pagi", serial=8101, applicants=2),
        headers=citizen.headers("gw-e2e-ani-0001"),
    )
    assert booked.status_code == 201 and booked.json()["status"] == "confirmed"
    booking_id = booked.json()["booking_id"]
    assert booked.headers["Location"] == f"/v1/bookings/{booking_id}"
    assert (
        client.get(booked.headers["Location"], headers=citizen.headers()).json()["queue_number"]
        == booked.json()["queue_number"]
    )
    assert [b["booking_id"] for b in client.get("/v1/bookings", headers=citizen.headers()).json()] == [booking_id]
    assert eventually(lambda: calendar_session(client, "MALANG", day, "pagi")["booked"] == before + 1)
    registrations = client.get("/v1/me/registrations", headers=citizen.headers()).json()
    assert registrations["used"] == 1 and registrations["left"] == 4

    cancelled = client.post(f"/v1/bookings/{booking_id}/cancel", headers=citizen.headers())
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    assert eventually(lambda: calendar_session(client, "MALANG", day, "pagi")["booked"] == before)
    cooldown = client.get("/v1/me/registrations", headers=citizen.headers()).json()
    assert cooldown["cooldown_until"] is not None


def test_a_citizen_cannot_see_or_cancel_someone_elses_booking(client):
    owner, other = sign_in(client, "gw-e2e-owner@example.com"), sign_in(client, "gw-e2e-other@example.com")
    booked = client.post(
        "/v1/bookings",
        json=booking_body("MALANG", bookable_day(16), "siang", serial=8102),
        headers=owner.headers("gw-e2e-owner-001"),
    ).json()
    seen = client.get(f"/v1/bookings/{booked['booking_id']}", headers=other.headers())
    cancel = client.post(f"/v1/bookings/{booked['booking_id']}/cancel", headers=other.headers())
    assert seen.status_code == 404 and seen.json()["code"] == "booking_not_found"
    assert cancel.status_code in (403, 404) and cancel.headers["content-type"] == "application/problem+json"
    assert client.get(f"/v1/bookings/{booked['booking_id']}", headers=owner.headers()).json()["status"] == "confirmed"


def test_the_status_stream_tells_the_confirmation_and_then_the_cancellation(client, system):
    citizen, day = sign_in(client, "gw-e2e-sse@example.com"), bookable_day(17)
    booked = client.post(
        "/v1/bookings",
        json=booking_body("MALANG", day, "pagi", serial=8103),
        headers=citizen.headers("gw-e2e-sse-0001"),
    ).json()
    events = []
    with signing(httpx.Client(base_url=system.gateway_url, timeout=30)) as streaming:
        with streaming.stream(
            "GET", f"/v1/bookings/{booked['booking_id']}/events", headers=citizen.headers()
        ) as stream:
            assert stream.headers["content-type"].startswith("text/event-stream")
            for line in stream.iter_lines():
                if line.startswith("data: "):
                    events.append(json.loads(line[6:])["status"])
                    if len(events) == 1:
                        client.post(f"/v1/bookings/{booked['booking_id']}/cancel", headers=citizen.headers())
    assert events == ["confirmed", "cancelled"]  # and the stream ended by itself once settled


def test_a_full_session_is_refused_at_once_by_the_gateway(client):
    operator, day = staff(client, "gw-e2e-ops@kanim", "operator"), bookable_day(18)
    capacity = client.put(
        "/v1/operator/offices/PATI/capacity",
        json={"date": day.isoformat(), "session": "siang", "capacity": 1},
        headers=operator,
    )
    assert capacity.status_code == 200 and capacity.json()["sessions"][0]["capacity"] == 1
    first, second = sign_in(client, "gw-e2e-first@example.com"), sign_in(client, "gw-e2e-second@example.com")
    booked = client.post(
        "/v1/bookings", json=booking_body("PATI", day, "siang", serial=8104), headers=first.headers("gw-e2e-first-01")
    )
    assert booked.json()["status"] == "confirmed"
    assert eventually(lambda: calendar_session(client, "PATI", day, "siang")["remaining"] == 0)
    before = fast_refusals(client)

    refused = client.post(
        "/v1/bookings", json=booking_body("PATI", day, "siang", serial=8105), headers=second.headers("gw-e2e-second-1")
    )

    assert refused.status_code == 409 and refusal_reason(refused) == "sold_out"
    assert refused.json()["detail_id"]  # in Indonesian too
    assert client.get("/v1/bookings", headers=second.headers()).json() == []  # nothing entered the pipeline
    assert fast_refusals(client) == before + 1


def test_an_operator_closes_a_session_and_citizens_are_refused_while_others_may_not_close(client):
    operator, day = staff(client, "gw-e2e-closer@kanim", "operator"), bookable_day(19)
    citizen = sign_in(client, "gw-e2e-closed@example.com")
    not_allowed = client.post(
        "/v1/operator/offices/PATI/closures",
        json={"date": day.isoformat(), "reason": "flood"},
        headers=citizen.headers(),
    )
    assert not_allowed.status_code == 403 and not_allowed.json()["code"] == "forbidden"
    closed = client.post(
        "/v1/operator/offices/PATI/closures",
        json={"date": day.isoformat(), "reason": "flood in the street"},
        headers=operator,
    )
    assert closed.status_code == 200 and all(s["closed"] for s in closed.json()["sessions"])
    assert eventually(lambda: not calendar_session(client, "PATI", day, "pagi")["open"])
    refused = client.post(
        "/v1/bookings", json=booking_body("PATI", day, "pagi", serial=8106), headers=citizen.headers("gw-e2e-closed-1")
    )
    assert refusal_reason(refused) == "office_closed"


def test_offices_free_slots_info_and_operations_endpoints(client):
    day = bookable_day(20)
    nearest = client.get("/v1/offices", params={"lat": -7.12, "lon": 112.42, "limit": 1}).json()
    free = client.get(
        "/v1/free-slots", params={"lat": -7.12, "lon": 112.42, "start": day.isoformat(), "end": day.isoformat()}
    )
    assert nearest[0]["code"] == "GRESIK" and nearest[0]["distance_km"] > 0
    assert free.status_code == 200 and free.json()[0]["session"]["open"]
    assert client.get("/v1/info/queue", params={"lang": "en"}).json()["title"] == "How the queue works"
    assert client.get("/health").json() == {"status": "ok"} and client.get("/ready").json() == {"ready": True}
    assert "paspor_gateway_requests_total" in client.get("/metrics").text
    assert "event booking.confirmed" in client.get("/asyncapi.json").json()["channels"]
    assert (
        client.get("/v1/offices/NOWHERE/calendar", params={"start": day.isoformat(), "end": day.isoformat()}).json()[
            "code"
        ]
        == "unknown_office"
    )
