"""A rush of citizens booking through the cluster's gateways, and what each of them finally got.

Each citizen signs in with a token of the local cluster's identity provider, accepts the terms,
then books once. A booking whose HTTP call failed (a gateway lost its NATS node, the store was
restarting) is sent again with the same Idempotency-Key, as a real client does, until it gets an
answer: so every citizen ends with exactly one answer, and the stories check what it is.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import threading
import time
from collections import Counter
from dataclasses import dataclass, field

import httpx
from support import booking_body, device_key, signing

FINAL = ("confirmed", "rejected")


@dataclass
class Citizen:
    subject: str
    token: str
    gateway: str
    device: str = ""
    body: dict = field(default_factory=dict)
    booking_id: str | None = None
    refusal: str | None = None  # refused at once by the gateway (no booking made), e.g. sold_out
    status: str | None = None
    queue_number: int | None = None

    def headers(self, key: str | None = None) -> dict[str, str]:
        phone = device_key(self.device or f"dev-{self.subject}").thumbprint  # proofs signed by a `signing` client
        headers = {"Authorization": f"Bearer {self.token}", "X-Device-Id": phone}
        return headers | ({"Idempotency-Key": key} if key else {})


@dataclass
class Rush:
    """Citizens spread over sessions and gateways; `half_sent` is set when half of them booked."""

    citizens: list[Citizen]
    half_sent: threading.Event = field(default_factory=threading.Event)
    sent_at: list[float] = field(default_factory=list)

    def session_of(self, citizen: Citizen) -> tuple[str, str, str]:
        return citizen.body["office"], citizen.body["date"], citizen.body["session"]


def make_rush(cluster, sessions: list[tuple[str, dt.date, str]], per_session: int, serial: int) -> Rush:  # noqa: ANN001
    citizens = []
    for n in range(per_session * len(sessions)):
        office, day, session = sessions[n % len(sessions)]
        subject = f"rush-{serial}-{n}"
        citizen = Citizen(subject, cluster.issuer.token(subject), cluster.gateway_urls[n % len(cluster.gateway_urls)])
        citizen.body = booking_body(office, day, session, serial * 10_000 + n)
        citizens.append(citizen)
    return Rush(citizens)


async def accept_terms(rush: Rush) -> None:
    async with signing(httpx.AsyncClient(timeout=30)) as client:

        async def one(citizen: Citizen) -> None:
            terms = await _answered(lambda: client.get(f"{citizen.gateway}/v1/me/terms", headers=citizen.headers()))
            version = terms.json()["current_version"]
            await _answered(
                lambda: client.post(
                    f"{citizen.gateway}/v1/me/terms", json={"version": version}, headers=citizen.headers()
                )
            )

        await _bounded(rush.citizens, one, 16)


async def book_all(rush: Rush, concurrency: int = 6, pause: float = 0.05) -> None:
    """Every citizen books once (retrying failed calls with the same key); paced to last a few seconds."""
    async with signing(httpx.AsyncClient(timeout=30)) as client:

        async def one(citizen: Citizen) -> None:
            headers = citizen.headers(f"key-{citizen.subject}")
            answer = await _answered(
                lambda: client.post(f"{citizen.gateway}/v1/bookings", json=citizen.body, headers=headers)
            )
            rush.sent_at.append(time.monotonic())
            if len(rush.sent_at) * 2 >= len(rush.citizens):
                rush.half_sent.set()
            body = answer.json()
            if answer.status_code >= 400:
                citizen.refusal = body.get("code")
            else:
                citizen.booking_id, citizen.status = body["booking_id"], body["status"]
                citizen.queue_number = body.get("queue_number")
            await asyncio.sleep(pause)

        await _bounded(rush.citizens, one, concurrency)


async def final_outcomes(rush: Rush, timeout: float = 90) -> None:
    """Follow every booking until it is confirmed or rejected (or time runs out)."""
    deadline = time.monotonic() + timeout
    async with signing(httpx.AsyncClient(timeout=30)) as client:

        async def one(citizen: Citizen) -> None:
            while citizen.booking_id and citizen.status not in FINAL and time.monotonic() < deadline:
                answer = await _answered(
                    lambda: client.get(f"{citizen.gateway}/v1/bookings/{citizen.booking_id}", headers=citizen.headers())
                )
                body = answer.json()
                citizen.status, citizen.queue_number = body["status"], body.get("queue_number")
                if citizen.status not in FINAL:
                    await asyncio.sleep(0.5)

        await _bounded(rush.citizens, one, 16)


def confirmed_numbers(rush: Rush) -> dict[tuple[str, str, str], list[int]]:
    numbers: dict[tuple[str, str, str], list[int]] = {}
    for citizen in rush.citizens:
        numbers.setdefault(rush.session_of(citizen), [])
        if citizen.status == "confirmed":
            numbers[rush.session_of(citizen)].append(citizen.queue_number)
    return numbers


def outcome_counts(rush: Rush) -> Counter:
    return Counter(citizen.status or f"refused:{citizen.refusal}" for citizen in rush.citizens)


async def _answered(call, patience: float = 60) -> httpx.Response:  # noqa: ANN001
    """An answer that is the system's decision: transport errors and 5xx are tried again (same key)."""
    deadline = time.monotonic() + patience
    while True:
        try:
            response = await call()
            if response.status_code < 500 or time.monotonic() > deadline:
                return response
        except httpx.TransportError:
            if time.monotonic() > deadline:
                raise
        await asyncio.sleep(0.3)


async def _bounded(items: list, work, concurrency: int) -> None:  # noqa: ANN001
    gate = asyncio.Semaphore(concurrency)

    async def guarded(item) -> None:  # noqa: ANN001
        async with gate:
            await work(item)

    await asyncio.gather(*(guarded(item) for item in items))
