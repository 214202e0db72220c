"""A reschedule across two offices in two quota partitions, with `kill -9` of the booking service and then
of the quota worker while the saga runs: afterwards the booking holds exactly one slot, its new ticket is
issued, and the audit is clean."""

from __future__ import annotations

import datetime as dt

import httpx
import pytest
from support import bookable_day, booking_body, sign_in, wait_until

from paspor.audit import Scope, run_audit
from paspor.embedded import EmbeddedSystem
from paspor.natsserver import free_port
from services.booking.main import BookingSettings
from shared.events.subjects import partition_of

FROM, TO = "BANDA-ACEH", "LANGSA"
DAY, LATER = bookable_day(8), bookable_day(15)


@pytest.fixture
def running(tmp_path):
    system = EmbeddedSystem(tmp_path, gateway_port=free_port())
    system.start()
    yield system
    system.stop()


def booked(client: httpx.Client, office: str, day, session: str) -> int:
    calendar = client.get(f"/v1/offices/{office}/calendar", params={"start": day, "end": day}).json()
    return next(s["booked"] for s in calendar["sessions"] if s["session"] == session)


def kill(system: EmbeddedSystem, service: str) -> None:
    system.children[service].kill()  # SIGKILL: no shutdown path runs
    system.children[service].wait()
    system.revive()


@pytest.mark.parametrize("killed", [["booking"], ["booking", "quota"]])
def test_a_reschedule_with_kill_9_during_the_saga_ends_holding_exactly_one_slot(running, killed):
    assert partition_of(FROM) != partition_of(TO)
    with httpx.Client(base_url=running.gateway_url, timeout=30) as client:
        wait_until(lambda: client.get("/ready").status_code == 200, 30, "the gateway is ready")
        citizen = sign_in(client, "mover@example.com")
        body = booking_body(FROM, DAY, "pagi", serial=8801)
        booking = client.post("/v1/bookings", json=body, headers=citizen.headers("mover-booking-1")).json()
        url = f"/v1/bookings/{booking['booking_id']}"
        wait_until(lambda: client.get(url, headers=citizen.headers()).json()["status"] == "confirmed", 30, "confirmed")
        to = {"office": TO, "date": LATER.isoformat(), "session": "siang"}
        moving = client.post(f"{url}/reschedule", json=to, headers=citizen.headers())
        assert moving.status_code == 200, moving.text
        for service in killed:  # the move is stored; its request may or may not have left
            kill(running, service)

        def moved() -> bool:
            answer = client.get(url, headers=citizen.headers())
            return answer.status_code == 200 and answer.json()["slot"]["office"] == TO

        wait_until(moved, 90, "the booking moved")
        wait_until(lambda: booked(client, FROM, DAY, "pagi") == 0, 60, "the old slot released")
        assert booked(client, TO, LATER, "siang") == 1, "exactly one slot held"

        def new_ticket() -> bool:
            answer = client.get(f"{url}/ticket", headers=citizen.headers())
            return answer.status_code == 200 and answer.json()["slot"]["office"] == TO

        wait_until(new_ticket, 30, "the new ticket")
        assert not client.get(f"{url}/ticket", headers=citizen.headers()).json()["revoked"]
        again = client.post(f"{url}/reschedule", json=to | {"session": "pagi"}, headers=citizen.headers())
        assert again.status_code == 409 and again.json()["code"] == "already_rescheduled"
    result = run_audit(BookingSettings(data_dir=running.data_dir), Scope(grace=dt.timedelta(0)))
    assert result.broken() == {} and result.totals["slots_held"] == 1
