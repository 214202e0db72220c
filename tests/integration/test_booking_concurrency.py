"""Booking races against a real nats-server, on every event-store backend.

Booking service processes are started as `paspor service booking` would be; on SQLite and
PostgreSQL two replicas share one store and answer from one queue group, so a race between
processes is settled by the event store itself (unique aggregate id and version), not by a
read-then-write check in one process.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import subprocess
import sys
import time
import uuid
from pathlib import Path

import nats
import pytest
from support import IDENTITY_KEY, bookable_day, kk, nik

from services.booking.main import BookingSettings, build_application
from shared.events import AcceptTerms, Applicant, Caller, Commands, ListBookings, RequestBooking

BACKENDS = ["memory", "sqlite", "postgres"]


def store_settings(backend: str, data_dir: Path, request: pytest.FixtureRequest) -> dict[str, str]:
    env = {
        "PASPOR_EVENT_STORE": backend,
        "PASPOR_DATA_DIR": str(data_dir),
        "PASPOR_CIPHER_KEY": CIPHER_KEY,
        "PASPOR_IDENTITY_KEY": IDENTITY_KEY,
    }
    if backend == "postgres":
        env["PASPOR_POSTGRES_URL"] = request.getfixturevalue("postgres_url")
    return env


CIPHER_KEY = "q0wWfQ0u1w3kzS8V4B3Zb2bPZK7kdl0m9xWc6m3cJ3Y="


def start_replicas(nats_url: str, store: dict[str, str], count: int, tmp_path: Path) -> list[subprocess.Popen[bytes]]:
    """`count` booking service processes on one store."""
    if store["PASPOR_EVENT_STORE"] != "memory":  # create the tables once, before the replicas race
        build_application(BookingSettings(**{k.removeprefix("PASPOR_").lower(): v for k, v in store.items()})).close()
    replicas = []
    for i in range(count):
        log_path = tmp_path / f"booking-{i}.log"
        with open(log_path, "wb") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", "paspor", "service", "booking"],
                env=os.environ | store | {"PASPOR_NATS_URL": nats_url},
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        process.log_path = log_path  # type: ignore[attr-defined]
        replicas.append(process)
    deadline = time.monotonic() + 30
    while not all(b"booking ready" in r.log_path.read_bytes() for r in replicas):
        assert time.monotonic() < deadline, "booking replicas did not become ready"
        time.sleep(0.1)
    return replicas


def stop(replicas: list[subprocess.Popen[bytes]]) -> None:
    for replica in replicas:
        replica.terminate()
    for replica in replicas:
        replica.wait(30)


async def ask(nc: nats.NATS, subject: str, message) -> dict:  # noqa: ANN001
    reply = await nc.request(subject, message.model_dump_json().encode(), timeout=30)
    return json.loads(reply.data)


def citizen(name: str) -> Caller:
    return Caller(provider="google", subject=f"{name}-{uuid.uuid4().hex[:8]}", device_id=f"phone-{uuid.uuid4().hex}")


def booking(caller: Caller, niks: list[str], key: str) -> RequestBooking:
    return RequestBooking(
        caller=caller,
        idempotency_key=key,
        kk_number=kk(random.randrange(10**9)),
        slot={"office": "JKT-SEL", "date": bookable_day(5), "session": "pagi"},
        applicants=[Applicant(name="Applicant", nik=n, birth_date="1990-05-17") for n in niks],
    )


async def signed_up(nc: nats.NATS, callers: list[Caller]) -> None:
    for caller in callers:
        terms = await ask(nc, Commands.ACCEPT_TERMS, AcceptTerms(caller=caller, version="2026.1"))
        assert terms.get("terms", {}).get("accepted"), terms


async def race(nats_url: str, callers: list[Caller], requests: list[RequestBooking]) -> tuple[list[dict], int]:
    """Send all requests at once; the replies, and how many bookings the callers hold afterwards."""
    nc = await nats.connect(nats_url)
    try:
        await signed_up(nc, callers)
        replies = await asyncio.gather(*(ask(nc, Commands.REQUEST_BOOKING, r) for r in requests))
        held = [await ask(nc, Commands.LIST_BOOKINGS, ListBookings(caller=c)) for c in callers]
    finally:
        await nc.close()
    return list(replies), sum(len(h["bookings"]) for h in held)


def codes(replies: list[dict]) -> set[str]:
    return {r["problem"]["code"] for r in replies if "problem" in r}


@pytest.mark.parametrize("backend", BACKENDS)
def test_fifty_simultaneous_requests_from_one_account_make_one_booking(backend, nats_server, tmp_path, request):
    store = store_settings(backend, tmp_path / "data", request)
    replicas = start_replicas(nats_server.url, store, 1 if backend == "memory" else 2, tmp_path)
    siti = citizen("siti")
    base = random.randrange(10**6)
    requests = [booking(siti, [nik(base + i)], key=f"siti-tap-{i:03d}") for i in range(50)]
    try:
        replies, held = asyncio.run(race(nats_server.url, [siti], requests))
    finally:
        stop(replicas)

    booked = [r for r in replies if "booking" in r]
    assert len(booked) == 1 and held == 1
    assert codes(replies) <= {"active_booking_exists", "concurrent_request"}


@pytest.mark.parametrize("backend", BACKENDS)
def test_twenty_accounts_racing_for_one_nik_make_one_booking(backend, nats_server, tmp_path, request):
    store = store_settings(backend, tmp_path / "data", request)
    replicas = start_replicas(nats_server.url, store, 1 if backend == "memory" else 2, tmp_path)
    brokers = [citizen(f"calo-{i}") for i in range(20)]
    wanted = nik(random.randrange(10**6))
    requests = [booking(c, [wanted], key=f"grab-{i:03d}") for i, c in enumerate(brokers)]
    try:
        replies, held = asyncio.run(race(nats_server.url, brokers, requests))
    finally:
        stop(replicas)

    booked = [r for r in replies if "booking" in r]
    assert len(booked) == 1 and held == 1
    assert codes(replies) <= {"nik_already_booked", "concurrent_request"}
    assert all(wanted.encode() not in r.log_path.read_bytes() for r in replicas), "no NIK in clear text in the logs"


def test_the_same_request_retried_with_the_same_key_returns_the_same_booking(nats_server, tmp_path, request):
    replicas = start_replicas(nats_server.url, store_settings("sqlite", tmp_path / "data", request), 2, tmp_path)
    budi = citizen("budi")
    retried = booking(budi, [nik(random.randrange(10**6))], key="budi-double-tap")
    try:
        replies, held = asyncio.run(race(nats_server.url, [budi], [retried] * 10))
    finally:
        stop(replicas)

    answered = [r.get("booking", {}).get("booking_id") or r["problem"]["code"] for r in replies]
    assert answered == [answered[0]] * 10 and held == 1, "every retry gets the one booking, none a refusal"
