"""Runs a rush against one target: users sign in beforehand, then arrive in a burst when quota is released."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import httpx

from .outcome import CONFIRMED, REFUSED, TRY_ELSEWHERE, Answer, Attempt
from .scenario import Scenario, Slot, User


class Target(Protocol):
    name: str

    async def prepare(self, client: httpx.AsyncClient, user: User) -> None: ...
    async def book(self, client: httpx.AsyncClient, user: User, slot: Slot, key: str) -> Answer: ...
    async def cancel(self, client: httpx.AsyncClient, user: User, booking_id: str) -> bool: ...


@dataclass
class Live:
    """Counters the live display reads while the rush runs."""

    users: int
    arrived: int = 0
    in_flight: int = 0
    confirmed: int = 0
    refused: int = 0
    failed: int = 0
    cancelled: int = 0
    started: float = field(default_factory=time.monotonic)

    def count(self, answer: Answer) -> None:
        if answer.status == CONFIRMED:
            self.confirmed += 1
        elif answer.status == REFUSED:
            self.refused += 1
        else:
            self.failed += 1


@dataclass
class RushRun:
    """What one target did in the rush: every attempt, timed from the release."""

    target: str
    attempts: list[Attempt]
    users: int
    cancelled: int
    cancel_failed: int
    prepare_seconds: float
    seconds: float


async def run_rush(
    target: Target,
    scenario: Scenario,
    users: list[User],
    run: int,
    connections: int = 200,
    monitor: Callable[[Live], None] = lambda live: None,
) -> RushRun:
    """Sign everyone in, release the quota, and let the burst play out; returns every attempt."""
    # Idle connections are dropped before the server's keep-alive (uvicorn: 5 s) closes them under us.
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections, keepalive_expiry=4.0)
    async with httpx.AsyncClient(limits=limits, timeout=httpx.Timeout(60.0)) as pool:
        client = GatedClient(pool, connections)
        began = time.monotonic()
        await asyncio.gather(*(target.prepare(client, u) for u in users))  # type: ignore[arg-type]
        prepared = time.monotonic() - began
        rush = _Rush(target, client, run, Live(len(users)), random.Random(scenario.seed))
        watcher = asyncio.create_task(_watch(rush.live, monitor))
        rush.release = asyncio.get_running_loop().time() + 0.2
        try:
            await asyncio.gather(*(rush.user(u) for u in users))
        finally:
            watcher.cancel()
        monitor(rush.live)
    seconds = max((a.answered for a in rush.attempts), default=0.0)
    return RushRun(target.name, rush.attempts, len(users), rush.live.cancelled, rush.cancel_failed, prepared, seconds)


class GatedClient:
    """The HTTP client with at most `limit` requests in flight: httpx's pool slows to a crawl with
    thousands queued in it. A phone waiting to look again at its booking holds no place."""

    def __init__(self, client: httpx.AsyncClient, limit: int) -> None:
        self.client, self.gate = client, asyncio.Semaphore(limit)

    async def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        async with self.gate:
            return await self.client.request(method, url, **kwargs)

    async def get(self, url: str, **kwargs: Any) -> httpx.Response:
        return await self.request("GET", url, **kwargs)

    async def post(self, url: str, **kwargs: Any) -> httpx.Response:
        return await self.request("POST", url, **kwargs)

    async def put(self, url: str, **kwargs: Any) -> httpx.Response:
        return await self.request("PUT", url, **kwargs)


class _Rush:
    def __init__(self, target: Target, client: GatedClient, run: int, live: Live, rng: random.Random) -> None:
        self.target, self.client, self.run, self.live, self.rng = target, client, run, live, rng
        self.attempts: list[Attempt] = []
        self.cancel_failed = 0
        self.release = 0.0

    def clock(self) -> float:
        return asyncio.get_running_loop().time() - self.release

    async def user(self, user: User) -> None:
        await asyncio.sleep(max(0.0, user.arrival - self.clock()))
        self.live.arrived += 1
        for index, slot in enumerate(user.choices):
            answer = await self._attempt(user, index, slot)
            if answer.status == CONFIRMED:
                if user.cancels:
                    await self._cancel(user, answer)
                return
            if answer.status != REFUSED or answer.reason not in TRY_ELSEWHERE:
                return

    async def _attempt(self, user: User, index: int, slot: Slot) -> Answer:
        key = f"rush-{self.run}-{user.serial}-{index}"
        self.live.in_flight += 1
        sent = self.clock()
        if user.double_tap:  # the same request twice at once: one booking, the same answer
            first, second = await asyncio.gather(*(self._book(user, slot, key) for _ in range(2)))
            agree = same_answer(first, second)
        else:
            first, second, agree = await self._book(user, slot, key), None, True
        self.live.in_flight -= 1
        self.live.count(first)
        self.attempts.append(
            Attempt(user.serial, index, sent, self.clock(), first, user.double_tap, agree, None if agree else second)
        )
        return first

    async def _book(self, user: User, slot: Slot, key: str) -> Answer:
        return await self.target.book(self.client, user, slot, key)  # type: ignore[arg-type]

    async def _cancel(self, user: User, answer: Answer) -> None:
        await asyncio.sleep(self.rng.uniform(0.2, 1.5))
        cancelled = await self.target.cancel(self.client, user, answer.booking_id)  # type: ignore[arg-type]
        if cancelled:
            self.live.cancelled += 1
        else:
            self.cancel_failed += 1


def same_answer(first: Answer, second: Answer) -> bool:
    """Both taps told the same: status, reason and queue number (and the booking, when both name one)."""
    ids = {first.booking_id, second.booking_id} - {None}
    return (first.status, first.reason, first.queue_number) == (
        second.status,
        second.reason,
        second.queue_number,
    ) and len(ids) <= 1


async def _watch(live: Live, monitor: Callable[[Live], None]) -> None:
    while True:
        monitor(live)
        await asyncio.sleep(0.25)
