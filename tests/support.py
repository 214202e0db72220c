"""Helpers the stories share: the pinned day, identity numbers, bookable dates, signed-in users, waits with a deadline."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import os
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx

from shared import clock
from shared.calendar import is_office_day
from shared.device_keys import DeviceKey

JAKARTA = ZoneInfo("Asia/Jakarta")


def pinned_day() -> dt.date:
    """The day the suite lives on: PASPOR_TEST_TODAY (YYYY-MM-DD), or a plain Wednesday in 2027."""
    value = os.environ.get("PASPOR_TEST_TODAY", "2027-01-13")
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise SystemExit(f"PASPOR_TEST_TODAY must be a date like 2027-01-13, got {value!r}") from None


TODAY = pinned_day()
NOW = dt.datetime.combine(TODAY, dt.time(9, 0), JAKARTA).astimezone(dt.UTC)  # 09:00 in Jakarta, every zone's TODAY
# Booking stores shared by a test session's PostgreSQL database need one identity key, as replicas do.
IDENTITY_KEY = "dGhlIHRlc3RzJyBzaGFyZWQgaWRlbnRpdHkga2V5ISE="


def nik(
    number: int, province: str = "31", regency: str = "74", birth: dt.date = dt.date(1990, 5, 17), woman: bool = False
) -> str:
    """A distinct NIK per number, with a valid structure: region, birth date (DD+40 for women), serial."""
    district = number // 9999 % 99 + 1
    day = birth.day + (40 if woman else 0)
    return f"{province}{regency}{district:02d}{day:02d}{birth:%m%y}{number % 9999 + 1:04d}"


def kk(serial: int) -> str:
    return f"317401{serial % 10**10:010d}"


def bookable_day(start_in: int = 3) -> dt.date:
    """The first office day at least `start_in` days after the pinned day, as the holiday calendar says."""
    day = TODAY + dt.timedelta(days=start_in)
    while not is_office_day(day):
        day += dt.timedelta(days=1)
    return day


def wait_until(condition: Callable[[], bool], timeout: float, what: str, every: float = 0.05) -> None:
    """Wait until `condition()` holds; fail the test, saying what never happened, after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not so after {timeout:g} s")
        time.sleep(every)


async def until(condition: Callable[[], bool], timeout: float, what: str, every: float = 0.01) -> None:
    """`wait_until` inside an event loop: the loop goes on running (and delivering) while we wait."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not so after {timeout:g} s")
        await asyncio.sleep(every)


def booking_body(office: str, day: dt.date, session: str, serial: int, applicants: int = 1) -> dict:
    return {
        "office": office,
        "date": day.isoformat(),
        "session": session,
        "kk_number": kk(serial),
        "applicants": [
            {
                "name": f"Applicant {serial}-{i}",
                "nik": nik(serial * 10 + i),
                "birth_date": "1990-05-17",
                "service": "new",
                "passport_type": "regular",
            }
            for i in range(applicants)
        ],
    }


DEVICES: dict[str, DeviceKey] = {}  # every device key a test made, by its thumbprint (the device id)


NAMED: dict[str, DeviceKey] = {}  # the same keys, by the names tests gave them


def device_key(name: str) -> DeviceKey:
    """The key of the device called `name` (the same every time), known to `sign_proofs` from now on."""
    key = NAMED.get(name)
    if key is None:
        key = NAMED[name] = DeviceKey.named(name)
        DEVICES[key.thumbprint] = key
    return key


SYSTEM_CLOCKS: dict[str, Callable[[], dt.datetime]] = {}  # a system living on a clock of its own, by host:port


def sign_proofs(request: httpx.Request) -> None:
    """httpx request hook: a DPoP proof for each request from a device a test made (named by X-Device-Id).

    A request that carries its own `DPoP` header (a test forging or replaying one) is left as it is.
    """
    key = DEVICES.get(request.headers.get("X-Device-Id", ""))
    if key is None or "DPoP" in request.headers:
        return
    token = request.headers.get("Authorization", "")[7:].strip()
    now = SYSTEM_CLOCKS.get(request.url.netloc.decode("ascii"), clock.now)()  # dated by the system's own clock
    request.headers["DPoP"] = key.proof(request.method, str(request.url), token, now)


async def _sign_proofs_async(request: httpx.Request) -> None:
    sign_proofs(request)


def signing(client: httpx.Client | httpx.AsyncClient) -> httpx.Client | httpx.AsyncClient:
    """The client, signing device proofs for the devices tests made (once, however often it is asked)."""
    hook: Any = _sign_proofs_async if isinstance(client, httpx.AsyncClient) else sign_proofs
    hooks = client.event_hooks
    if hook not in hooks["request"]:
        client.event_hooks = {**hooks, "request": [*hooks["request"], hook]}
    return client


class Citizen:
    """A signed-in user of the development issuer, with their device: a key whose proofs the client signs.

    `device` is the key's thumbprint, sent as X-Device-Id too, so the same story runs whether the gateway
    checks proofs (dpop, the default) or takes the header (header mode).
    """

    def __init__(self, client: httpx.Client | httpx.AsyncClient, subject: str, token: str, device: str = ""):
        self.client, self.subject, self.token = signing(client), subject, token
        self.key = device_key(device or f"device-{uuid.uuid5(uuid.NAMESPACE_URL, subject).hex[:16]}")
        self.device = self.key.thumbprint

    def headers(self, idempotency_key: str | None = None) -> dict[str, str]:
        headers = {"Authorization": f"Bearer {self.token}", "X-Device-Id": self.device}
        if idempotency_key:
            headers["Idempotency-Key"] = idempotency_key
        return headers


def sign_in(client: httpx.Client, subject: str) -> Citizen:
    response = client.post("/v1/dev/token", json={"subject": subject})
    response.raise_for_status()
    citizen = Citizen(client, subject, response.json()["access_token"])
    terms = patiently(lambda: client.get("/v1/me/terms", headers=citizen.headers()))
    terms.raise_for_status()  # the terms in force must be accepted before the first booking
    version = terms.json()["current_version"]
    patiently(lambda: client.post("/v1/me/terms", json={"version": version}, headers=citizen.headers()))
    return citizen


def patiently(call: Callable[[], httpx.Response], within: float = 30.0) -> httpx.Response:
    """An idempotent call asked again, as the apps do, while the system answers 503 (just started, or busy:
    a service still warming up on a loaded machine), after its Retry-After; its answer, raised if an error."""
    deadline = time.monotonic() + within
    while True:
        response = call()
        if response.status_code != 503 or time.monotonic() > deadline:
            return response.raise_for_status()
        time.sleep(min(float(response.headers.get("Retry-After", "1")), 2.0))


def refusal_reason(response: httpx.Response) -> str | None:
    """Why a booking was refused: at once by the gateway (a problem, e.g. from the sold-out fast path)
    or by the pipeline (a rejected booking); None if it was not refused (yet)."""
    body = response.json()
    if response.status_code >= 400:
        return body.get("code")
    return body.get("reason") if body.get("status") == "rejected" else None


def temporary_database(admin_url: str) -> contextlib.AbstractContextManager[str]:
    """The URL of a new, empty database on the admin URL's server; dropped afterwards."""
    from paspor.cluster.pgserver import temporary_database as new_database

    return new_database(admin_url, prefix="paspor_test")


def refused_services(system: Any) -> list[str]:
    """The nats-server log lines where a service of an embedded system was refused something: its grant
    in shared/runtime/permissions.py lacks a subject it really uses. A test's own probes, connections named
    PROBE with a service's key, are not counted."""
    from shared.runtime.permissions import SERVICES

    keys = system.keys.public_keys(SERVICES).values()
    lines = system.nats.log_path.read_text(errors="replace").splitlines() if system.nats.log_path.exists() else []
    return [line for line in lines if "Violation" in line and PROBE not in line and any(key in line for key in keys)]


PROBE = "permissions-probe"  # the connection name of a test that tries what a service may not do


def pay_fee(client: httpx.Client, data_dir: Path, bill: dict, reference: str) -> httpx.Response:
    """The payment provider's callback for a booking's fee (`bill`: its `payment`), signed with the data folder's
    secret, as `paspor pay simulate` sends it."""
    from services.gateway.callbacks import PAYMENT_SECRET_FILE, SIGNATURE_HEADER, TIMESTAMP_HEADER, sign
    from shared.runtime.store import data_key

    secret = data_key(data_dir, PAYMENT_SECRET_FILE).encode()
    now = clock.now()
    body = json.dumps(
        {
            "reference": reference,
            "billing_code": bill["billing_code"],
            "amount": bill["amount"],
            "paid_at": now.isoformat(),
        }
    ).encode()
    timestamp = str(int(now.timestamp()))
    headers = {TIMESTAMP_HEADER: timestamp, SIGNATURE_HEADER: sign(secret, timestamp, body)}
    return client.post("/v1/payments/callback", content=body, headers=headers | {"Content-Type": "application/json"})
