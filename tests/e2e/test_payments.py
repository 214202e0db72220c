"""Paying the passport fee through the gateway, as the provider would; an unpaid booking voided at its deadline."""

from __future__ import annotations

import json
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from support import bookable_day, booking_body, pay_fee, sign_in, signing, wait_until

from paspor.audit import Scope, run_audit
from paspor.embedded import EmbeddedSystem
from paspor.natsserver import free_port
from services.booking.main import BookingSettings
from services.gateway.auth import DevIssuer
from services.gateway.callbacks import PAYMENT_SECRET_FILE, SIGNATURE_HEADER, TIMESTAMP_HEADER, sign
from shared import clock
from shared.runtime.store import data_key

DAY = bookable_day(9)


def simulate(data_dir: Path, code: str, *options: str) -> tuple[int, dict]:
    """`paspor pay simulate`, the provider played from the command line: its exit code and the gateway's answer."""
    command = [sys.executable, "-m", "paspor", "pay", "simulate", code, "--data-dir", str(data_dir), *options]
    done = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert done.stdout, done.stderr
    return done.returncode, json.loads(done.stdout)


def tampered_callback(client: httpx.Client, data_dir: Path, code: str, amount: int) -> httpx.Response:
    """A callback signed for one amount, sent with another."""
    secret = data_key(data_dir, PAYMENT_SECRET_FILE).encode()
    timestamp = str(int(clock.now().timestamp()))
    signed = {"reference": "tampered-1", "billing_code": code, "amount": 1, "paid_at": clock.now().isoformat()}
    sent = json.dumps(signed | {"amount": amount}).encode()
    headers = {TIMESTAMP_HEADER: timestamp, SIGNATURE_HEADER: sign(secret, timestamp, json.dumps(signed).encode())}
    return client.post("/v1/payments/callback", content=sent, headers=headers | {"Content-Type": "application/json"})


def signed_in(client: httpx.Client, subject: str):
    """Signed in, once the services behind the gateway answer (a system just started may not yet)."""
    citizen = []

    def attempt() -> bool:
        try:
            citizen.append(sign_in(client, subject))
        except httpx.HTTPStatusError as error:
            if error.response.status_code != 503:
                raise
        return bool(citizen)

    wait_until(attempt, 30, "the services answer", every=0.5)
    return citizen[0]


def book(client: httpx.Client, subject: str, office: str, serial: int, applicants: int = 1) -> tuple[dict, dict]:
    citizen = signed_in(client, subject)
    body = booking_body(office, DAY, "pagi", serial=serial, applicants=applicants)
    answer = client.post("/v1/bookings", json=body, headers=citizen.headers(f"{subject}-pay-1"))
    assert answer.status_code == 201, answer.text
    return answer.json(), citizen.headers()


def test_the_fee_is_shown_paid_once_and_every_refused_callback_changes_nothing(system):
    with httpx.Client(base_url=system.gateway_url, timeout=30) as client:
        booking, citizen = book(client, "payer@example.com", "PADANG", serial=7701, applicants=2)
        bill = booking["payment"]
        assert booking["status"] == "confirmed" and bill["status"] == "unpaid"
        assert len(bill["billing_code"]) == 15 and bill["amount"] == 700_000 and bill["currency"] == "IDR"
        url = f"/v1/bookings/{booking['booking_id']}"
        wait_until(lambda: client.get(f"{url}/ticket", headers=citizen).status_code == 200, 20, "the ticket")
        assert client.get(f"{url}/ticket", headers=citizen).json()["payment"] == bill, "the ticket shows the bill"
        before = client.get(url, headers=citizen).json()

        assert tampered_callback(client, system.data_dir, bill["billing_code"], 700_000).status_code == 401
        assert simulate(system.data_dir, bill["billing_code"], "--signed-seconds-ago", "600")[1]["code"] == (
            "stale_callback"
        )
        assert simulate(system.data_dir, bill["billing_code"], "--amount", "699999")[1]["code"] == "wrong_amount"
        assert simulate(system.data_dir, "123456789012347", "--amount", "700000")[1]["code"] == "unknown_billing_code"
        assert client.get(url, headers=citizen).json() == before, "no refused callback changed the booking"

        exit_code, paid = simulate(system.data_dir, bill["billing_code"], "--reference", "bank-payer-0001")
        assert exit_code == 0 and paid["outcome"] == "paid" and paid["booking_id"] == booking["booking_id"]
        after = client.get(url, headers=citizen).json()
        assert after["status"] == "confirmed" and after["payment"]["status"] == "paid"
        exit_code, again = simulate(system.data_dir, bill["billing_code"], "--reference", "bank-payer-0001")
        assert exit_code == 0 and again["duplicate"] is True
        assert client.get(url, headers=citizen).json() == after, "the duplicate changed nothing"


@pytest.fixture(scope="module")
def short_holds(tmp_path_factory: pytest.TempPathFactory):
    """A system whose bookings must be paid within 30 seconds."""
    env = {"PASPOR_BOOKING_PAYMENT_HOLD_MINUTES": "0.5", "PASPOR_BOOKING_PAYMENT_TICK": "0.2"}
    running = EmbeddedSystem(tmp_path_factory.mktemp("short-holds"), gateway_port=free_port(), env=env)
    running.start()
    yield running
    running.stop()


def remaining(client: httpx.Client, office: str) -> int:
    calendar = client.get(f"/v1/offices/{office}/calendar", params={"start": DAY, "end": DAY}).json()
    return next(s["remaining"] for s in calendar["sessions"] if s["session"] == "pagi")


def test_an_unpaid_booking_is_voided_at_its_deadline_its_slot_released_and_a_late_payment_owed_back(short_holds):
    with httpx.Client(base_url=short_holds.gateway_url, timeout=30) as client:
        capacity = remaining(client, "JAMBI")
        booking, citizen = book(client, "late@example.com", "JAMBI", serial=7702)
        url = f"/v1/bookings/{booking['booking_id']}"
        wait_until(lambda: client.get(url, headers=citizen).json()["status"] == "voided", 90, "voided at its deadline")
        voided = client.get(url, headers=citizen).json()
        assert voided["payment"]["status"] == "expired" and voided["reason"] == "not_paid_in_time"
        wait_until(lambda: remaining(client, "JAMBI") == capacity, 30, "the slot back in the calendar")

        exit_code, late = simulate(short_holds.data_dir, booking["payment"]["billing_code"])
        assert exit_code == 0 and late["outcome"] == "refund_owed"
        assert client.get(url, headers=citizen).json()["status"] == "voided", "a late payment books nothing"
        registrations = client.get("/v1/me/registrations", headers=citizen).json()
        assert registrations["active_booking_id"] is None and registrations["cooldown_until"] is None


pay = pay_fee  # the provider's signed callback


def test_in_a_rush_with_30_percent_left_unpaid_the_freed_slots_are_booked_again_and_never_overbooked(short_holds):
    office, day, capacity = "KERINCI", bookable_day(12), 20
    operator = DevIssuer(short_holds.data_dir / "keys").issue("rush-operator@kanim", role="operator")
    headers = {"Authorization": f"Bearer {operator}", "X-Device-Id": "operator-pc-rush01"}
    with httpx.Client(base_url=short_holds.gateway_url, timeout=30) as client:
        set_capacity = {"date": day.isoformat(), "session": "siang", "capacity": capacity}
        assert (
            client.put(f"/v1/operator/offices/{office}/capacity", json=set_capacity, headers=headers).status_code == 200
        )
        citizens = [signed_in(client, f"rusher-{i}@example.com").headers() for i in range(2 * capacity)]

    def attempt(i: int, key: str) -> dict:
        with signing(httpx.Client(base_url=short_holds.gateway_url, timeout=30)) as own:  # proves each device's key
            body = booking_body(office, day, "siang", serial=7800 + i)
            answer = own.post("/v1/bookings", json=body, headers=citizens[i] | {"Idempotency-Key": key})
            booking = answer.json()
            while booking.get("status") == "requested":  # not decided at once (a loaded machine): the long poll
                booking = own.get(f"/v1/bookings/{booking['booking_id']}?wait=25", headers=citizens[i]).json()
            return booking

    def booked() -> int:
        calendar = client.get(f"/v1/offices/{office}/calendar", params={"start": day, "end": day}).json()
        session = next(s for s in calendar["sessions"] if s["session"] == "siang")
        assert session["booked"] <= session["capacity"] == capacity, "never above capacity"
        return session["booked"]

    with httpx.Client(base_url=short_holds.gateway_url, timeout=30) as client, ThreadPoolExecutor(20) as pool:
        first = list(pool.map(lambda i: attempt(i, f"rush-{i}-first"), range(2 * capacity)))
        won = [b for b in first if b.get("status") == "confirmed"]
        assert len(won) == capacity, "the session sold out in the first wave"
        left_unpaid = won[: capacity * 3 // 10]
        answers = [
            pay(client, short_holds.data_dir, b["payment"], f"rush-{b['booking_id']}") for b in won[len(left_unpaid) :]
        ]
        paid = sum(1 for a in answers if a.status_code == 200 and a.json()["outcome"] == "paid")
        assert paid >= capacity // 2, "the payers paid within the hold (a late one would be owed back)"
        assert booked() == capacity

        short_holds.children["booking"].kill()  # kill -9 with the holds open: the deadlines are in the store
        short_holds.children["booking"].wait()
        short_holds.revive()
        wait_until(lambda: booked() == paid, 90, "the unpaid bookings voided by the restarted service, slots back")

        losers = [i for i, b in enumerate(first) if b.get("status") != "confirmed"]
        second = list(pool.map(lambda i: attempt(i, f"rush-{i}-second"), losers))
        assert sum(1 for b in second if b.get("status") == "confirmed") == capacity - paid, (
            "each freed slot booked again"
        )
        assert booked() == capacity

    result = run_audit(BookingSettings(data_dir=short_holds.data_dir), Scope(office=office))  # a minute's grace: live
    assert result.broken() == {} and result.totals["voided_unpaid"] == capacity - paid
