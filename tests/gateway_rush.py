"""A small rush of citizens through the gateway, each followed to one final outcome as the mobile app would.

Each citizen signs in (development issuer), accepts the terms, then books once: a call that fails (the
booking service was just killed, the gateway answered 503) is sent again with the same Idempotency-Key;
a 202 is followed by the long poll its Location names until the booking is confirmed or rejected; a 409
is the gateway's refusal at once (the session is full). What each citizen finally got is kept.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import httpx
from support import booking_body, device_key, signing

FINAL = ("confirmed", "rejected")
RETRIED = {429, 500, 502, 503, 504}
PATIENCE = 120.0  # seconds a citizen keeps trying before the story gives up on them


@dataclass
class Citizen:
    """One citizen of the rush: their booking and what became of it."""

    subject: str
    body: dict
    token: str = ""
    booking_id: str | None = None
    status: str | None = None
    reason: str | None = None
    queue_number: int | None = None
    answers: list[int] = field(default_factory=list)  # every HTTP status the booking calls got, in order
    sent_at: float | None = None

    @property
    def session(self) -> tuple[str, str, str]:
        return self.body["office"], self.body["date"], self.body["session"]

    def headers(self, idempotent: bool = False) -> dict[str, str]:
        """The citizen's token and phone; for booking, their one Idempotency-Key (every retry sends the same)."""
        phone = device_key(f"phone-of-{self.subject}").thumbprint  # its proofs signed by a `signing` client
        headers = {"Authorization": f"Bearer {self.token}", "X-Device-Id": phone}
        return headers | ({"Idempotency-Key": f"key-of-{self.subject}"} if idempotent else {})

    def decided(self, booking: dict) -> None:
        self.booking_id, self.status = booking["booking_id"], booking["status"]
        self.queue_number, self.reason = booking.get("queue_number"), booking.get("reason")


def citizens_for(demand: dict[tuple[str, dt.date, str], int], serial: int) -> list[Citizen]:
    """Citizens for each (office, date, session), interleaved: the sessions fill at the same time."""
    wanted = [s for n in range(max(demand.values())) for s, d in demand.items() if n < d]
    return [
        Citizen(f"rush-{serial}-{n}", booking_body(office, day, session, serial * 10_000 + n))
        for n, (office, day, session) in enumerate(wanted)
    ]


async def sign_up(client: httpx.AsyncClient, citizens: list[Citizen]) -> None:
    signing(client)  # each citizen's phone signs its device proofs

    async def one(citizen: Citizen) -> None:
        token = await answered(lambda: client.post("/v1/dev/token", json={"subject": citizen.subject}))
        citizen.token = token.json()["access_token"]
        terms = await answered(lambda: client.get("/v1/me/terms", headers=citizen.headers()))
        version = terms.json()["current_version"]
        accepted = await answered(
            lambda: client.post("/v1/me/terms", json={"version": version}, headers=citizen.headers())
        )
        assert accepted.status_code == 200, accepted.text

    await bounded(citizens, one, 16)


async def book_all(client: httpx.AsyncClient, citizens: list[Citizen], in_flight: int) -> None:
    signing(client)
    await bounded(citizens, lambda citizen: book(client, citizen), in_flight)


async def book(client: httpx.AsyncClient, citizen: Citizen) -> None:
    """Book until the system decided: one final outcome, however many calls it took."""
    citizen.sent_at = time.monotonic()
    response = await answered(
        lambda: client.post("/v1/bookings", json=citizen.body, headers=citizen.headers(idempotent=True)), citizen
    )
    if response.status_code == 409:  # refused at once by the gateway: no booking was made
        citizen.status, citizen.reason = "rejected", response.json()["code"]
        return
    assert response.status_code in (201, 202), f"{citizen.subject}: {response.status_code} {response.text}"
    citizen.decided(response.json())
    location = response.headers["Location"]  # for a 202, the long poll: it answers the moment it is decided
    deadline = time.monotonic() + PATIENCE
    while citizen.status not in FINAL and time.monotonic() < deadline:
        polled = await answered(lambda: client.get(location, headers=citizen.headers()), citizen)
        assert polled.status_code == 200, f"{citizen.subject}: {polled.status_code} {polled.text}"
        citizen.decided(polled.json())


async def answered(call: Callable[[], Awaitable[httpx.Response]], citizen: Citizen | None = None) -> httpx.Response:
    """The system's answer: a dropped connection or a busy/absent service (429, 5xx) is asked again."""
    deadline = time.monotonic() + PATIENCE
    while True:
        try:
            response = await call()
        except httpx.TransportError:
            response = None
        if citizen is not None and response is not None:
            citizen.answers.append(response.status_code)
        if response is not None and response.status_code not in RETRIED:
            return response
        assert time.monotonic() < deadline, f"no answer in {PATIENCE}s (last: {response and response.text})"
        await asyncio.sleep(0.2)  # a client's back-off before trying again, not a wait for a condition


async def bounded(items: list, work: Callable[[Citizen], Awaitable[None]], concurrency: int) -> None:
    gate = asyncio.Semaphore(concurrency)

    async def guarded(item: Citizen) -> None:
        async with gate:
            await work(item)

    await asyncio.gather(*(guarded(item) for item in items))
