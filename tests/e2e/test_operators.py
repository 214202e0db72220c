"""Operators change capacity and close sessions on the running system, with `paspor quota`."""

from __future__ import annotations

import os
import subprocess
import sys

import httpx
from support import bookable_day, booking_body, refusal_reason, sign_in, signing


def paspor(system, *args: str) -> subprocess.CompletedProcess[str]:  # noqa: ANN001
    # --data-dir: the operator's NATS key is the one `paspor up` made there
    command = [sys.executable, "-m", "paspor", *args, "--data-dir", str(system.data_dir), "--operator", "ops@kanim"]
    return subprocess.run(command, capture_output=True, text=True, timeout=60)


def test_an_operator_lowers_capacity_and_the_next_booking_is_sold_out(system):
    day = bookable_day(12)
    result = paspor(system, "quota", "set-capacity", "BOGOR", day.isoformat(), "1", "--session", "siang")
    assert result.returncode == 0, result.stdout + result.stderr
    with signing(httpx.Client(base_url=system.gateway_url, timeout=30)) as client:
        first, second = sign_in(client, "op-first@example.com"), sign_in(client, "op-second@example.com")
        booked = client.post(
            "/v1/bookings", json=booking_body("BOGOR", day, "siang", serial=7001), headers=first.headers("op-first-key")
        ).json()
        refused = client.post(
            "/v1/bookings",
            json=booking_body("BOGOR", day, "siang", serial=7002),
            headers=second.headers("op-second-key"),
        )
        calendar = client.get(
            "/v1/offices/BOGOR/calendar", params={"start": day.isoformat(), "end": day.isoformat()}
        ).json()
    assert booked["status"] == "confirmed" and booked["queue_number"] == 1
    assert refusal_reason(refused) == "sold_out"  # at once from the read model, or by the pipeline
    siang = next(s for s in calendar["sessions"] if s["session"] == "siang")
    assert (siang["capacity"], siang["booked"], siang["remaining"]) == (1, 1, 0)


def test_an_operator_closes_a_day_and_new_bookings_are_refused_as_closed(system):
    day = bookable_day(13)
    result = paspor(system, "quota", "close", "BOGOR", day.isoformat(), "--reason", "power outage at the office")
    assert result.returncode == 0, result.stdout + result.stderr
    with signing(httpx.Client(base_url=system.gateway_url, timeout=30)) as client:
        citizen = sign_in(client, "op-closed@example.com")
        refused = client.post(
            "/v1/bookings",
            json=booking_body("BOGOR", day, "pagi", serial=7003),
            headers=citizen.headers("op-closed-key"),
        )
    assert refusal_reason(refused) == "office_closed"


def test_bad_operator_input_is_refused_with_a_clear_message_and_changes_nothing(system):
    result = paspor(system, "quota", "set-capacity", "NOWHERE", bookable_day(12).isoformat(), "5")
    assert result.returncode == 1 and "Unknown office NOWHERE" in result.stdout
    result = paspor(system, "quota", "set-capacity", "bogor", bookable_day(12).isoformat(), "5")
    assert result.returncode == 2 and "office" in result.stdout


def test_only_the_operators_nats_key_changes_quota(system, tmp_path):
    day = bookable_day(14).isoformat()
    auditor = {"PASPOR_NATS_USER": "auditor", "PASPOR_NATS_NKEY_FILE": str(system.keys.path("auditor"))}
    command = [sys.executable, "-m", "paspor", "quota", "set-capacity", "BOGOR", day, "0", "--operator", "intruder"]

    as_auditor = subprocess.run(
        [*command, "--nats-url", system.nats.url], env=os.environ | auditor, capture_output=True, text=True, timeout=60
    )
    assert as_auditor.returncode == 1 and "permissions violation" in as_auditor.stdout.lower(), as_auditor.stdout

    # no key at all (a data folder `paspor up` never used): NATS does not let it in
    keyless = [*command, "--nats-url", system.nats.url, "--data-dir", str(tmp_path)]
    nobody = subprocess.run(keyless, capture_output=True, text=True, timeout=60)
    assert nobody.returncode == 2 and "Authorization Violation" in nobody.stdout, nobody.stdout

    with signing(httpx.Client(base_url=system.gateway_url, timeout=30)) as client:
        calendar = client.get("/v1/offices/BOGOR/calendar", params={"start": day, "end": day}).json()
    assert calendar["sessions"] and all(s["capacity"] > 0 for s in calendar["sessions"]), "capacity as it was"
