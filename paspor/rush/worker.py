"""One client process of the rush: `python -m paspor.rush.worker`, driven by `driver.py` over its pipes.

It reads its orders as one JSON line on stdin, draws the same population as every other process and
keeps its share, signs those accounts up (reporting progress), says it is ready, waits for the
release instant, plays the rush, and writes every attempt and its own CPU use as JSON lines on stdout.
Nothing else may write to stdout: logs go to stderr.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import sys
import time
import traceback
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

from .crowd import Crowd
from .http import Http
from .phone import Phone
from .scenario import Scenario, User, population

PROGRESS_SECONDS = 0.25
CPU_SAMPLE_SECONDS = 0.5


@dataclass
class CpuMeter:
    """This process's CPU time over wall time: overall, and the busiest second (sampled every half second)."""

    samples: list[tuple[float, float]] = field(default_factory=list)  # (wall, cpu)

    def sample(self) -> None:
        self.samples.append((time.monotonic(), time.process_time()))

    async def run(self) -> None:
        while True:
            self.sample()
            await asyncio.sleep(CPU_SAMPLE_SECONDS)

    def figures(self) -> dict[str, float]:
        if len(self.samples) < 2:
            return {"cpu_seconds": 0.0, "wall_seconds": 0.0, "mean": 0.0, "peak_1s": 0.0}
        (w0, c0), (w1, c1) = self.samples[0], self.samples[-1]
        windows = [
            (c - cb) / (w - wb)
            for (wb, cb), (w, c) in zip(self.samples, self.samples[2:], strict=False)
            if w - wb >= 0.9
        ]
        mean = (c1 - c0) / (w1 - w0) if w1 > w0 else 0.0
        return {
            "cpu_seconds": round(c1 - c0, 3),
            "wall_seconds": round(w1 - w0, 3),
            "mean": round(mean, 3),
            "peak_1s": round(max(windows, default=mean), 3),
        }


def emit(kind: str, **data: Any) -> None:
    sys.stdout.write(json.dumps({"kind": kind, **data}, separators=(",", ":")) + "\n")
    sys.stdout.flush()


def my_users(orders: dict[str, Any]) -> list[User]:
    scenario = Scenario(**orders["scenario"])
    dates = [dt.date.fromisoformat(d) for d in orders["dates"]]
    return population(scenario, dates)[orders["index"] :: orders["processes"]]


async def sign_up(phone: Phone, http: Http, users: list[User]) -> dict[str, float]:
    meter, done = CpuMeter(), [0]
    meter.sample()

    async def one(user: User) -> None:
        await phone.sign_up(http, user)
        done[0] += 1

    async def report() -> None:
        while True:
            emit("signed", count=done[0], of=len(users))
            await asyncio.sleep(PROGRESS_SECONDS)

    reporter = asyncio.create_task(report())
    try:
        if users:  # the first fetches the terms' version for all the others
            await one(users[0])
        await asyncio.gather(*(one(u) for u in users[1:]))
    finally:
        reporter.cancel()
    emit("signed", count=done[0], of=len(users))
    meter.sample()
    return meter.figures()


async def rush(
    phone: Phone, http: Http, users: list[User], release: float, seed: int
) -> tuple[Crowd, dict[str, float]]:
    crowd, meter = Crowd(phone, http, release, seed), CpuMeter()
    await asyncio.sleep(max(0.0, release - time.monotonic()))

    async def report() -> None:
        while True:
            emit("live", **crowd.live.as_dict())
            await asyncio.sleep(PROGRESS_SECONDS)

    tasks = [asyncio.create_task(meter.run()), asyncio.create_task(report())]
    try:
        await crowd.play(users)
    finally:
        meter.sample()
        for task in tasks:
            task.cancel()
    emit("live", **crowd.live.as_dict())
    return crowd, meter.figures()


async def main_async(orders: dict[str, Any]) -> None:
    users = my_users(orders)
    phone = Phone(orders["name"], orders["url"], orders["run"], orders["follow"], patience=orders["patience"])
    async with Http(orders["connections"]) as http:
        sign_up_cpu = await sign_up(phone, http, users)
        emit("ready", sign_up_cpu=sign_up_cpu)
        line = await asyncio.to_thread(sys.stdin.readline)
        if not line:
            return  # the driver went away
        release = json.loads(line)["release"]
        crowd, cpu = await rush(phone, http, users, release, orders["seed"] + orders["index"])
    emit(
        "done",
        attempts=[a.to_list() for a in crowd.attempts],
        cancelled=crowd.cancelled,
        cancel_failed=crowd.cancel_failed,
        cpu=cpu,
        sign_up_cpu=sign_up_cpu,
    )


def _event_loop_runner() -> Callable[[Coroutine[Any, Any, None]], None]:
    """uvloop's run where it is installed, else the standard loop's."""
    try:
        from uvloop import run
    except ImportError:  # not on this platform: the standard loop
        return asyncio.run
    return run


def main() -> None:
    try:
        orders = json.loads(sys.stdin.readline())
        _event_loop_runner()(main_async(orders))
    except Exception as error:  # the driver shows it and stops the rush
        emit("error", message=f"{type(error).__name__}: {error}", trace=traceback.format_exc(limit=5))
        sys.exit(1)


if __name__ == "__main__":
    main()
