"""The waitlist, through the gateway: a freed place goes to the first one waiting, held for a while; if they
let it lapse it goes to the next, who accepts it and is confirmed; the audit finds nothing wrong.

The system runs on the suite's pinned clock (PASPOR_CLOCK_START) with holds of 4 seconds, so that a
lapse happens within the test: the hold's deadline is the worker's clock, never a timer in memory.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator

import httpx
import pytest
from support import bookable_day, booking_body, refusal_reason, sign_in, wait_until

from paspor.audit import Scope, run_audit
from paspor.embedded import EmbeddedSystem
from paspor.natsserver import free_port
from services.booking.main import BookingSettings

OFFICE, DAY, SESSION = "GRESIK", bookable_day(20), "pagi"
HOLD_SECONDS = 4


@pytest.fixture(scope="module")
def quick_holds(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedSystem]:
    folder = tmp_path_factory.mktemp("waitlist")
    env = {"PASPOR_QUOTA_HOLD_SECONDS": str(HOLD_SECONDS), "PASPOR_QUOTA_HOLD_TICK_SECONDS": "0.5"}
    env["PASPOR_NOTIFIER_REMINDER_SINK"] = f"file:{folder / 'notices.jsonl'}"  # where offers are told too
    running = EmbeddedSystem(folder, gateway_port=free_port(), env=env)
    running.start()
    yield running
    running.stop()


def set_capacity(system: EmbeddedSystem, capacity: int) -> None:
    command = [sys.executable, "-m", "paspor", "quota", "set-capacity", OFFICE, DAY.isoformat(), str(capacity)]
    command += ["--session", SESSION, "--data-dir", str(system.data_dir), "--operator", "ops@kanim"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


def follow_until(client: httpx.Client, citizen, booking_id: str, status: str) -> dict:  # noqa: ANN001
    """The booking's status stream (SSE), read until it says `status`."""
    with client.stream("GET", f"/v1/bookings/{booking_id}/events", headers=citizen.headers(), timeout=30) as events:
        for line in events.iter_lines():
            if line.startswith("data: "):
                booking = json.loads(line.removeprefix("data: "))
                if booking["status"] == status:
                    return booking
    raise AssertionError(f"booking {booking_id} never became {status}")


def notices(system: EmbeddedSystem) -> list[dict]:
    """What the notifier's sink was told (a file here; SMS or e-mail behind a webhook in production)."""
    path = system.data_dir / "notices.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def status_of(client: httpx.Client, citizen, booking_id: str) -> dict:  # noqa: ANN001
    return client.get(f"/v1/bookings/{booking_id}", headers=citizen.headers()).json()


def test_a_freed_place_goes_down_the_waitlist_to_whoever_accepts_it_in_time(quick_holds):
    with httpx.Client(base_url=quick_holds.gateway_url, timeout=30) as client:
        # (1) the session is full: one place, booked
        set_capacity(quick_holds, 1)
        holder = sign_in(client, "wl-holder@example.com")
        held = client.post(
            "/v1/bookings", json=booking_body(OFFICE, DAY, SESSION, 8101), headers=holder.headers("waitlist-holder")
        )
        assert held.status_code == 201 and held.json()["status"] == "confirmed", held.text
        late = sign_in(client, "wl-late@example.com")
        refused = client.post(
            "/v1/bookings", json=booking_body(OFFICE, DAY, SESSION, 8104), headers=late.headers("waitlist-late")
        )
        assert refusal_reason(refused) == "sold_out"

        # (2) A and B join the waitlist
        a, b = sign_in(client, "wl-a@example.com"), sign_in(client, "wl-b@example.com")
        a_id = join(client, a, 8102, "waitlist-a")
        b_id = join(client, b, 8103, "waitlist-b")
        assert follow_until(client, b, b_id, "waitlisted")["queue_number"] is None

        # (3) a booking is cancelled
        cancelled = client.post(f"/v1/bookings/{held.json()['booking_id']}/cancel", headers=holder.headers())
        assert cancelled.status_code == 200, cancelled.text

        # (4) A is offered a hold, and lets it lapse
        offer = follow_until(client, a, a_id, "offered")
        assert offer["queue_number"] == 1 and offer["hold_until"]
        assert status_of(client, b, b_id)["status"] == "waitlisted", "B waits while A holds the place"
        wait_until(lambda: [n["booking_id"] for n in notices(quick_holds)] == [a_id], 10, "A told through the sink")
        lapsed = follow_until(client, a, a_id, "rejected")
        assert lapsed["reason"] == "hold_lapsed"
        too_late = client.post(f"/v1/bookings/{a_id}/accept", headers=a.headers())
        assert too_late.status_code == 409 and too_late.json()["code"] == "not_offered"

        # (5) B is offered the place, accepts, and is confirmed
        offer = follow_until(client, b, b_id, "offered")
        wait_until(lambda: [n["booking_id"] for n in notices(quick_holds)] == [a_id, b_id], 10, "B told too")
        assert notices(quick_holds)[1]["type"] == "WaitlistOffer" and notices(quick_holds)[1]["hold_until"]
        accepted = client.post(f"/v1/bookings/{b_id}/accept", headers=b.headers())
        assert accepted.status_code == 200, accepted.text
        assert (
            accepted.json()["status"] == "confirmed" and accepted.json()["queue_number"] == offer["queue_number"] == 1
        )
        calendar = client.get(f"/v1/offices/{OFFICE}/calendar", params={"start": DAY, "end": DAY}).json()
        (session,) = [s for s in calendar["sessions"] if s["session"] == SESSION]
        assert (session["booked"], session["remaining"]) == (1, 0)

    # (6) the audit is clean
    settings = BookingSettings(data_dir=quick_holds.data_dir, event_store="sqlite")
    result = run_audit(settings, Scope(office=OFFICE))
    assert result.ok, [f.as_dict() for f in result.findings]
    assert (result.totals["holds_offered"], result.totals["holds_accepted"], result.totals["holds_lapsed"]) == (2, 1, 1)


def join(client: httpx.Client, citizen, serial: int, key: str) -> str:  # noqa: ANN001
    joined = client.post("/v1/waitlist", json=booking_body(OFFICE, DAY, SESSION, serial), headers=citizen.headers(key))
    assert joined.status_code == 202, joined.text
    assert joined.json()["status"] in ("requested", "waitlisted")
    return joined.json()["booking_id"]
