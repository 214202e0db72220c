"""After a load: read every acknowledged booking back, following a pending one until it is decided."""

from __future__ import annotations

import asyncio
import time

from paspor.rush.http import Http, TransportError

from .records import FINAL, Attempt
from .steady import SteadyLoad

MISSING = "missing"  # the system answers 404: it does not know the booking it acknowledged
LONG_POLL = 10  # seconds one GET waits for a pending booking's decision


async def follow(http: Http, load: SteadyLoad, attempts: list[Attempt], patience: float, concurrency: int = 32) -> None:
    """Each acknowledged attempt's `booking_status` becomes what the system says now (or MISSING)."""
    deadline, gate = time.monotonic() + patience, asyncio.Semaphore(concurrency)

    async def one(attempt: Attempt) -> None:
        async with gate:
            await read_back(http, load, attempt, deadline)

    await asyncio.gather(*(one(a) for a in attempts if a.acknowledged))


async def read_back(http: Http, load: SteadyLoad, attempt: Attempt, deadline: float) -> None:
    gateways, headers, asked = load.plan.gateways, load.headers[attempt.serial], 0
    while True:
        url = f"{gateways[(attempt.serial + asked) % len(gateways)]}/v1/bookings/{attempt.booking_id}?wait={LONG_POLL}"
        asked += 1
        try:
            reply = await http.call("GET", url, headers=load.signed("GET", url, headers))
        except TransportError:
            reply = None
        if reply is not None and reply.status == 404:
            attempt.booking_status = MISSING
            return
        if reply is not None and reply.status == 200:
            attempt.booking_status, attempt.queue_number = reply.body["status"], reply.body.get("queue_number")
            if attempt.booking_status in FINAL:
                return
        if time.monotonic() > deadline:
            return
        await asyncio.sleep(0.5)
