"""A citizen's account through the gateway: profile, terms, device, registrations, bookings, attendance."""

from __future__ import annotations

import asyncio
import time

import httpx
import nats
import pytest
from support import Citizen, bookable_day, booking_body, kk, nik, sign_in, signing

from paspor.embedded import EmbeddedSystem
from shared.events import BookingCheckedIn, Slot, subject_for

PROFILE = {
    "full_name": "Dewi  Lestari",
    "nik": nik(777001, woman=True),
    "kk_number": kk(777001),
    "phone": "0812-3456-7001",
    "email": "Dewi@Example.com",
    "birth_date": "1990-05-17",
}


@pytest.fixture
def client(system):
    with signing(httpx.Client(base_url=system.gateway_url, timeout=30)) as http:
        yield http


def test_a_profile_is_validated_and_kept_for_its_owner(client):
    dewi = sign_in(client, "dewi@example.com")
    assert client.get("/v1/me", headers=dewi.headers()).json()["code"] == "profile_not_found"

    wrong = client.put("/v1/me", json=PROFILE | {"nik": "3174019905900001"}, headers=dewi.headers())
    assert wrong.status_code == 422 and wrong.json()["code"] == "invalid_nik"
    assert "3174019905900001" not in wrong.text and wrong.json()["detail_id"]

    saved = client.put("/v1/me", json=PROFILE, headers=dewi.headers())
    assert saved.status_code == 200, saved.text
    assert (saved.json()["full_name"], saved.json()["phone"], saved.json()["email"]) == (
        "Dewi Lestari",
        "+6281234567001",
        "dewi@example.com",
    )
    assert client.get("/v1/me", headers=dewi.headers()).json() == saved.json()


def test_a_device_belongs_to_the_first_account_that_signs_in_on_it(client):
    first = sign_in(client, "first-on-phone@example.com")
    second = Citizen(
        client,
        "second-on-phone@example.com",
        client.post("/v1/dev/token", json={"subject": "second-on-phone@example.com"}).json()["access_token"],
    )
    second.device = first.device

    refused = client.post("/v1/me/terms", json={"version": "2026.1"}, headers=second.headers())

    assert refused.status_code == 403 and refused.json()["code"] == "device_bound_to_other_account"


def test_a_booking_shows_its_session_times_counts_as_a_registration_and_ends_at_check_in(system, client):
    rina = sign_in(client, "rina-account-api@example.com")
    body = booking_body("MALANG", bookable_day(12), "siang", serial=97301)

    response = client.post("/v1/bookings", json=body, headers=rina.headers("rina-key-0001"))

    assert response.status_code == 201, response.text
    booking = response.json()
    assert booking["status"] == "confirmed" and booking["timezone"] == "Asia/Jakarta"
    assert booking["starts_at"].endswith("T13:00:00+07:00") and booking["ends_at"].endswith("T16:00:00+07:00")
    mine = client.get("/v1/bookings", headers=rina.headers()).json()
    assert [b["booking_id"] for b in mine] == [booking["booking_id"]]
    registrations = client.get("/v1/me/registrations", headers=rina.headers()).json()
    assert (registrations["used"], registrations["left"], registrations["active_booking_id"]) == (
        1,
        4,
        booking["booking_id"],
    )

    asyncio.run(check_in(system, booking))

    assert wait_for_status(client, rina, booking["booking_id"], "checked_in")
    after = client.get("/v1/me/registrations", headers=rina.headers()).json()
    assert after["active_booking_id"] is None and after["used"] == 1 and after["next_allowed_at"]


async def check_in(system: EmbeddedSystem, booking: dict) -> None:
    """What the notifier publishes when an officer scans the ticket (with the notifier's NATS key)."""
    event = BookingCheckedIn(
        booking_id=booking["booking_id"], slot=Slot.model_validate(booking["slot"]), officer="petugas-malang-1"
    )
    nc = await nats.connect(system.nats.url, **system.login("notifier").connect_options())
    await nc.jetstream().publish(
        subject_for(event, booking["slot"]["office"]),
        event.model_dump_json().encode(),
        headers={"Nats-Msg-Id": str(event.message_id)},
    )
    await nc.close()


def wait_for_status(client: httpx.Client, citizen: Citizen, booking_id: str, status: str) -> bool:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if client.get(f"/v1/bookings/{booking_id}", headers=citizen.headers()).json()["status"] == status:
            return True
        time.sleep(0.1)
    return False
