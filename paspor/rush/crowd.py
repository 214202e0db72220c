"""The citizens of one client process in the rush: each arrives at its moment, books, falls back, maybe cancels."""

from __future__ import annotations

import asyncio
import random
import time
from dataclasses import asdict, dataclass, field

from .http import Http
from .outcome import CONFIRMED, REFUSED, TRY_ELSEWHERE, Answer, Attempt
from .phone import Phone
from .scenario import User


@dataclass
class Live:
    """Counters shown while the rush runs."""

    arrived: int = 0
    in_flight: int = 0
    attempts: int = 0
    confirmed: int = 0
    refused: int = 0
    failed: int = 0
    cancelled: int = 0

    def count(self, answer: Answer) -> None:
        self.attempts += 1
        if answer.status == CONFIRMED:
            self.confirmed += 1
        elif answer.status == REFUSED:
            self.refused += 1
        else:
            self.failed += 1

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


@dataclass
class Crowd:
    """Plays the users against one phone; times are seconds after `release` (a time.monotonic() instant)."""

    phone: Phone
    http: Http
    release: float
    seed: int
    live: Live = field(default_factory=Live)
    attempts: list[Attempt] = field(default_factory=list)
    cancelled: list[str] = field(default_factory=list)  # booking ids cancelled by their owner
    cancel_failed: int = 0

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)

    def clock(self) -> float:
        return time.monotonic() - self.release

    async def play(self, users: list[User]) -> None:
        await asyncio.gather(*(self.user(u) for u in users))

    async def user(self, user: User) -> None:
        await asyncio.sleep(max(0.0, user.arrival - self.clock()))
        self.live.arrived += 1
        for index in range(len(user.choices)):
            answer = await self._attempt(user, index)
            if answer.status == CONFIRMED:
                if user.cancels:
                    await self._cancel(user, answer)
                return
            if answer.status != REFUSED or answer.reason not in TRY_ELSEWHERE:
                return

    async def _attempt(self, user: User, index: int) -> Answer:
        slot, key = user.choices[index], f"rush-{self.phone.run}-{user.serial}-{index}"
        self.live.in_flight += 1
        sent = self.clock()
        if user.double_tap:  # the same request twice at once: one booking, the same answer
            first, second = await asyncio.gather(*(self.phone.book(self.http, user, slot, key) for _ in range(2)))
        else:
            first, second = await self.phone.book(self.http, user, slot, key), None
        answered = self.clock()
        self.live.in_flight -= 1
        self.live.count(first)
        self.attempts.append(Attempt(user.serial, index, sent, answered, first, second))
        return first

    async def _cancel(self, user: User, answer: Answer) -> None:
        await asyncio.sleep(self.rng.uniform(0.2, 1.5))
        booking_id = answer.booking_id
        if booking_id is None:  # confirmed without naming the booking: there is nothing to cancel, so it fails
            self.cancel_failed += 1
        elif await self.phone.cancel(self.http, user, booking_id):
            self.live.cancelled += 1
            self.cancelled.append(booking_id)
        else:
            self.cancel_failed += 1
