"""A citizen's ticket through the gateway (PNG, SVG, calendar file), checked by office staff and offline."""

from __future__ import annotations

import datetime as dt
import io
import time

import httpx
import icalendar
import pytest
import resvg_py
import zxingcpp
from PIL import Image
from support import bookable_day, booking_body, sign_in, signing
from typer.testing import CliRunner

from paspor.commands.ticket import app as ticket_cli


@pytest.fixture
def client(system):
    with signing(httpx.Client(base_url=system.gateway_url, timeout=30)) as http:
        yield http


def ticket_file(client, citizen, booking_id: str, suffix: str) -> httpx.Response:
    deadline = time.monotonic() + 20
    while True:
        response = client.get(f"/v1/bookings/{booking_id}/ticket{suffix}", headers=citizen.headers())
        if response.status_code != 404 or time.monotonic() > deadline:
            return response
        time.sleep(0.1)


def officer(client, subject: str, office: str) -> dict[str, str]:
    token = client.post("/v1/dev/token", json={"subject": subject, "role": "officer", "office": office}).json()
    return {"Authorization": f"Bearer {token['access_token']}"}


@pytest.fixture
def booked(client):
    citizen = sign_in(client, "rina@example.com")
    body = booking_body("JKT-SEL", bookable_day(4), "siang", serial=5501, applicants=2)
    response = client.post("/v1/bookings", json=body, headers=citizen.headers("key-rina-0001"))
    assert response.status_code in (201, 202), response.text  # 202: confirmed a moment later
    return citizen, response.json()


def test_the_ticket_comes_as_svg_and_as_a_calendar_file_and_verifies_offline_from_the_svg(system, client, booked):
    citizen, booking = booked
    svg = ticket_file(client, citizen, booking["booking_id"], ".svg")
    ics = ticket_file(client, citizen, booking["booking_id"], ".ics")

    assert svg.status_code == 200 and svg.headers["content-type"].startswith("image/svg+xml"), (
        svg.text,
        client.get(f"/v1/bookings/{booking['booking_id']}", headers=citizen.headers()).text,
    )
    (decoded,) = zxingcpp.read_barcodes(Image.open(io.BytesIO(bytes(resvg_py.svg_to_bytes(svg_string=svg.text)))))
    result = CliRunner().invoke(
        ticket_cli, ["verify", decoded.text, "--keys", str(system.data_dir / "keys"), "--any-day"]
    )
    assert result.exit_code == 0 and "VALID" in result.output, result.output
    assert ics.status_code == 200 and ics.headers["content-type"].startswith("text/calendar")
    (event,) = icalendar.Calendar.from_ical(ics.text).walk("VEVENT")
    assert event.decoded("DTSTART") == dt.datetime.fromisoformat(booking["starts_at"])
    assert event.decoded("DTEND") == dt.datetime.fromisoformat(booking["ends_at"])


def test_staff_cannot_check_in_a_ticket_for_another_day_or_another_office_and_citizens_cannot_at_all(client, booked):
    citizen, booking = booked
    payload = ticket_file(client, citizen, booking["booking_id"], "").json()["payload"]

    today = client.post("/v1/checkin", json={"payload": payload}, headers=officer(client, "ani", "JKT-SEL"))
    elsewhere = client.post("/v1/checkin", json={"payload": payload}, headers=officer(client, "dewi", "GRESIK"))
    forged = client.post(
        "/v1/checkin", json={"payload": payload[:-4] + "AAAA"}, headers=officer(client, "ani", "JKT-SEL")
    )
    by_citizen = client.post("/v1/checkin", json={"payload": payload}, headers=citizen.headers())

    assert (today.status_code, today.json()["code"]) == (422, "wrong_day")
    assert "Tiket ini bukan untuk hari ini" in today.json()["detail_id"]
    assert (elsewhere.status_code, elsewhere.json()["code"]) == (422, "wrong_office")
    assert forged.json()["code"] in ("bad_signature", "malformed")
    assert (by_citizen.status_code, by_citizen.json()["code"]) == (403, "forbidden")
