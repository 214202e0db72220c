"""Every JetStream stream and key-value bucket lost: the system comes back the same, replayed from its event stores.

A small history is written through `paspor up`: bookings confirmed, one cancelled, a session lowered
to a capacity it has reached, tickets issued. Then the system is stopped and its whole JetStream store
deleted: streams, consumers, relay positions, the availability read model, the shared idempotency keys.
Started again, the relays publish the stores from the first event, the quota worker puts every session
in the read model again, and the consumers handle the history idempotently. The calendar, the bookings
and the tickets are what they were, a new booking works, and the audit with `--jetstream` is clean.
"""

from __future__ import annotations

import datetime as dt
import shutil
import time
from pathlib import Path

import httpx
from support import bookable_day, booking_body, sign_in, signing, wait_until
from typer.testing import CliRunner

from paspor.audit import Scope, run_audit
from paspor.audit.jetstream import cross_check_streams
from paspor.cli import app as cli
from paspor.embedded import EmbeddedSystem
from paspor.natsserver import free_port
from services.booking.main import BookingSettings

OFFICE = "GRESIK"


def calendar(client: httpx.Client, day: dt.date) -> list[tuple]:
    end = day + dt.timedelta(days=7)
    answer = client.get(f"/v1/offices/{OFFICE}/calendar", params={"start": day.isoformat(), "end": end.isoformat()})
    answer.raise_for_status()
    sessions = answer.json()["sessions"]
    return [(s["date"], s["session"], s["capacity"], s["booked"], s["remaining"], s["open"]) for s in sessions]


def state(system: EmbeddedSystem, day: dt.date, citizens: list) -> dict:  # noqa: ANN001
    """What a citizen and an operator can see: the calendar, every booking, every ticket."""
    with signing(httpx.Client(base_url=system.gateway_url, timeout=30)) as client:
        bookings = {c.subject: client.get("/v1/bookings", headers=c.headers()).json() for c in citizens}
        tickets = {
            b["booking_id"]: client.get(f"/v1/bookings/{b['booking_id']}/ticket", headers=c.headers()).json()
            for c in citizens
            for b in bookings[c.subject]
            if b["status"] == "confirmed"
        }
        return {"calendar": calendar(client, day), "bookings": bookings, "tickets": tickets}


def test_the_system_comes_back_the_same_after_every_stream_and_bucket_is_lost(tmp_path: Path):
    day, quiet = bookable_day(4), bookable_day(6)  # on the quiet day an operator changes capacity, nobody books
    system = EmbeddedSystem(tmp_path / "system", gateway_port=free_port())
    system.start()
    try:
        with signing(httpx.Client(base_url=system.gateway_url, timeout=30)) as client:
            operator = {
                "Authorization": f"Bearer {client.post('/v1/dev/token', json={'subject': 'op@kanim', 'role': 'operator'}).json()['access_token']}"
            }  # noqa: E501
            client.put(
                f"/v1/operator/offices/{OFFICE}/capacity",
                headers=operator,
                json={"date": day.isoformat(), "session": "siang", "capacity": 2},
            ).raise_for_status()
            client.put(
                f"/v1/operator/offices/{OFFICE}/capacity",
                headers=operator,
                json={"date": quiet.isoformat(), "session": "pagi", "capacity": 7},
            ).raise_for_status()
            citizens = [sign_in(client, f"dr-{i}@example.com") for i in range(4)]
            for i, citizen in enumerate(citizens):
                body = booking_body(OFFICE, day, "pagi" if i == 0 else "siang", 70 + i)
                client.post("/v1/bookings", json=body, headers=citizen.headers(f"dr-key-{i:04d}"))
            first = client.get("/v1/bookings", headers=citizens[0].headers()).json()[0]
            client.post(f"/v1/bookings/{first['booking_id']}/cancel", headers=citizens[0].headers()).raise_for_status()
        wait_until(lambda: len(state(system, day, citizens)["tickets"]) == 2, 30, "the two confirmed get tickets")
        before = state(system, day, citizens)
    finally:
        system.stop()

    rows = {(r[0], r[1]): r[2:] for r in before["calendar"]}
    assert rows[(day.isoformat(), "pagi")][1] == 0, "pagi's one booking was cancelled"
    assert rows[(day.isoformat(), "siang")][:3] == (2, 2, 0), "siang full at 2: the third citizen was refused"
    assert rows[(quiet.isoformat(), "pagi")][:3] == (7, 0, 7), "the quiet day's capacity, changed and untouched"
    shutil.rmtree(system.nats.store_dir)  # the JetStream store: every stream, consumer and bucket

    again = EmbeddedSystem(tmp_path / "system", gateway_port=free_port())
    again.start()
    try:
        wait_until(lambda: state(again, day, citizens)["calendar"] == before["calendar"], 60, "the calendar is back")
        after = state(again, day, citizens)
        with signing(httpx.Client(base_url=again.gateway_url, timeout=30)) as client:
            late = sign_in(client, "dr-late@example.com")
            booked = client.post(
                "/v1/bookings", json=booking_body(OFFICE, day, "pagi", 90), headers=late.headers("dr-late-0001")
            )
            full = client.post(
                "/v1/bookings", json=booking_body(OFFICE, day, "siang", 91), headers=late.headers("dr-late-0002")
            )
        result = settled_audit(again)
        rebuilt = CliRunner().invoke(  # --data-dir: the operator's NATS key is there
            cli, ["rebuild", "availability", "--nats-url", again.nats.url, "--data-dir", str(again.data_dir)]
        )
    finally:
        again.stop()

    assert after["bookings"] == before["bookings"], "every booking as it was"
    assert after["tickets"] == before["tickets"], "every ticket as it was"
    assert booked.status_code == 201 and booked.json()["status"] == "confirmed"
    assert full.status_code == 409 and full.json()["code"] == "sold_out", "the read model knows siang is full"
    assert result.ok, [f.as_dict() for f in result.findings[:10]]
    assert rebuilt.exit_code == 0, rebuilt.output
    assert "no worker answered" not in rebuilt.output, "and on request: every partition's worker answers"


def settled_audit(system: EmbeddedSystem):  # noqa: ANN201
    settings = BookingSettings(data_dir=system.data_dir, event_store="sqlite")
    deadline = time.monotonic() + 60
    while run_audit(settings).pending and time.monotonic() < deadline:
        time.sleep(0.5)
    result = run_audit(settings, Scope(grace=dt.timedelta(0)))
    cross_check_streams(settings, result, system.nats.url, grace=dt.timedelta(seconds=5))
    return result
