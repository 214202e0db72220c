"""Drives one rush against one system through several client processes, and gathers what they measured.

The processes (`worker.py`) sign their accounts up in parallel, say they are ready, and all start at
one release instant (time.monotonic(), the same clock in every process on Linux); their live counters
are summed for the display, their attempts and CPU figures gathered at the end.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, TypedDict

from .crowd import Live
from .outcome import Attempt
from .scenario import Scenario

RELEASE_DELAY = 0.5  # seconds between "all ready" and the release: every process is waiting by then
LINE_LIMIT = 256 * 1024 * 1024  # the final line carries every attempt of a process


class ClientFailed(RuntimeError):
    """A client process stopped with an error, or without its results."""


@dataclass(frozen=True)
class Orders:
    """What every client process of one rush is told (its index aside)."""

    name: str
    url: str
    run: int
    scenario: Scenario
    dates: list[dt.date]
    processes: int = 2
    connections: int = 400  # in all, shared out among the processes
    follow: str = "auto"
    patience: float = 60.0

    def for_process(self, index: int) -> dict[str, Any]:
        return {
            "name": self.name,
            "url": self.url,
            "run": self.run,
            "scenario": asdict(self.scenario),
            "dates": [d.isoformat() for d in self.dates],
            "index": index,
            "processes": self.processes,
            "connections": max(1, self.connections // self.processes),
            "follow": self.follow,
            "patience": self.patience,
            "seed": self.scenario.seed,
        }


@dataclass
class RushRun:
    """What one system did in one rush: every attempt, timed from the release, and the client's own cost."""

    target: str
    attempts: list[Attempt]
    cancelled: list[str]
    cancel_failed: int
    sign_up_seconds: float
    seconds: float  # from the release to the last final answer
    clients: list[dict[str, Any]]  # per client process: CPU while signing up and during the rush


@dataclass
class Progress:
    """What the display shows: sign-up progress, then the summed live counters."""

    phase: str = "starting"
    signed: int = 0
    accounts: int = 0
    started: float = field(default_factory=time.monotonic)
    live: Live = field(default_factory=Live)
    users: int = 0


class Finished(TypedDict):
    """A client process's final line (`kind` aside): its attempts as rows, its cancellations, its CPU figures."""

    attempts: list[list[Any]]
    cancelled: list[str]
    cancel_failed: int
    cpu: dict[str, float]
    sign_up_cpu: dict[str, float]


@dataclass
class _Client:
    index: int
    process: asyncio.subprocess.Process
    stdin: asyncio.StreamWriter
    stdout: asyncio.StreamReader
    signed: int = 0
    of: int = 0
    live: dict[str, int] = field(default_factory=dict)
    ready: dict[str, Any] | None = None
    done: Finished | None = None
    error: str | None = None

    def finished(self) -> Finished:
        """The final line; ClientFailed if the process has not sent it."""
        if self.done is None:
            raise ClientFailed(f"client process {self.index} has not sent its results")
        return self.done


async def drive(orders: Orders, log_dir: Path, show: Callable[[Progress], None]) -> RushRun:
    """Start the client processes, sign everyone up, release, gather; ClientFailed if any process fails."""
    log_dir.mkdir(parents=True, exist_ok=True)
    clients = [await _start(orders, i, log_dir) for i in range(orders.processes)]
    progress = Progress(phase="signing up", accounts=orders.scenario.accounts, users=orders.scenario.accounts)
    readers = [asyncio.create_task(_read(c)) for c in clients]
    try:
        began = time.monotonic()
        await _until(clients, readers, lambda c: c.ready is not None, progress, show)
        sign_up_seconds = time.monotonic() - began
        release = time.monotonic() + RELEASE_DELAY
        for client in clients:
            client.stdin.write(json.dumps({"release": release}).encode() + b"\n")
            await client.stdin.drain()
        progress.phase, progress.started = "rush", release
        await _until(clients, readers, lambda c: c.done is not None, progress, show)
    finally:
        for client in clients:
            if client.process.returncode is None:
                client.process.kill()
            await client.process.wait()
        for reader in readers:
            reader.cancel()
    results = [(c.index, c.finished()) for c in clients]
    attempts = [Attempt.from_list(row) for _, done in results for row in done["attempts"]]
    return RushRun(
        target=orders.name,
        attempts=attempts,
        cancelled=[b for _, done in results for b in done["cancelled"]],
        cancel_failed=sum(done["cancel_failed"] for _, done in results),
        sign_up_seconds=round(sign_up_seconds, 2),
        seconds=max((a.answered for a in attempts), default=0.0),
        clients=[{"process": index, "rush": done["cpu"], "sign_up": done["sign_up_cpu"]} for index, done in results],
    )


async def _start(orders: Orders, index: int, log_dir: Path) -> _Client:
    with open(log_dir / f"client-{index}.log", "ab") as log:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "paspor.rush.worker",
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=log,
            limit=LINE_LIMIT,
        )
    if process.stdin is None or process.stdout is None:  # both are asked for as PIPE just above
        raise ClientFailed(f"client process {index} started without its stdin and stdout pipes")
    process.stdin.write(json.dumps(orders.for_process(index)).encode() + b"\n")
    await process.stdin.drain()
    return _Client(index, process, process.stdin, process.stdout)


async def _read(client: _Client) -> None:
    while line := await client.stdout.readline():
        message = json.loads(line)
        kind = message.pop("kind")
        if kind == "signed":
            client.signed, client.of = message["count"], message["of"]
        elif kind == "ready":
            client.ready = message
        elif kind == "live":
            client.live = message
        elif kind == "done":
            client.done = message
        elif kind == "error":
            client.error = f"{message['message']}\n{message.get('trace', '')}"
    await client.process.wait()
    if client.done is None and client.error is None:
        client.error = f"exited with code {client.process.returncode} before it finished"


async def _until(
    clients: list[_Client],
    readers: list[asyncio.Task],
    reached: Callable[[_Client], bool],
    progress: Progress,
    show: Callable[[Progress], None],
) -> None:
    while True:
        failed = [c for c in clients if c.error]
        if failed:
            raise ClientFailed(f"client process {failed[0].index}: {failed[0].error}")
        progress.signed = sum(c.signed for c in clients)
        progress.live = _summed(c.live for c in clients)
        show(progress)
        if all(reached(c) for c in clients):
            return
        await asyncio.wait(readers, timeout=0.25)


def _summed(lives) -> Live:
    total = Live()
    for live in lives:
        for key, value in live.items():
            setattr(total, key, getattr(total, key) + value)
    return total
