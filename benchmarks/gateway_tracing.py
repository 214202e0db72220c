"""Tracing's cost for `paspor bench gateway --tracing-overhead`: the same bursts with tracing off and on, side by side.

Each round starts a fresh embedded system twice, once with PASPOR_TRACE_EXPORTER=none and once with the
defaults (span files in the data folder, PASPOR_TRACE_SAMPLE of the bookings traced), alternating so that
a neighbour's load falls on both alike; the report shows each operation's median over the rounds.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import shutil
import statistics
import tempfile
from pathlib import Path

import httpx
from rich.console import Console
from rich.table import Table

from paspor.embedded import EmbeddedSystem
from paspor.natsserver import free_port

from .gateway_load import UNLIMITED, Burst, Request, burst, citizens, request, server_processes, staff_token, until

MODES = {"off": {"PASPOR_TRACE_EXPORTER": "none"}, "on": {}}
console = Console()


async def bursts(url: str, requests: int, bookings: int, concurrency: int, servers: dict[str, int]) -> list[Burst]:
    """Our gateway only: health, calendar, sold-out attempt, successful bookings in flight."""
    from .gateway import OPEN_OFFICES, SOLD_OUT, body, office_day, sold_out_shown

    limits = httpx.Limits(max_connections=concurrency * 2, max_keepalive_connections=concurrency * 2)
    async with httpx.AsyncClient(base_url=url, timeout=60, limits=limits) as client:
        day = office_day(10)
        await open_sessions(client, day, SOLD_OUT, OPEN_OFFICES)
        await until(lambda: sold_out_shown(client, day))
        triers, bookers = await citizens(client, concurrency, "trier"), await citizens(client, bookings, "booker")
        week = f"start={day.isoformat()}&end={(day + dt.timedelta(days=30)).isoformat()}"
        slots = [(o, s) for o in OPEN_OFFICES for s in ("pagi", "siang")]
        attempts = [
            request(
                "POST",
                "/v1/bookings",
                triers[i % concurrency] | {"Idempotency-Key": f"bench-key-{i:08d}"},
                body(SOLD_OUT[0], day, SOLD_OUT[1], i % concurrency),
            )
            for i in range(requests)
        ]
        successes: list[Request] = [
            request(
                "POST",
                "/v1/bookings",
                bookers[i] | {"Idempotency-Key": f"bench-book-{i:06d}"},
                body(slots[i % len(slots)][0], day, slots[i % len(slots)][1], 10_000 + i),
            )
            for i in range(bookings)
        ]
        calendar = [request("GET", f"/v1/offices/{SOLD_OUT[0]}/calendar?{week}")] * requests
        return [
            await burst("GET /health", url, [request("GET", "/health")] * requests, concurrency, servers=servers),
            await burst("calendar, 31 days", url, calendar, concurrency, servers=servers),
            await burst("sold-out attempt", url, attempts, concurrency, servers=servers),
            await burst(f"successful bookings, {concurrency} in flight", url, successes, concurrency, servers=servers),
        ]


async def open_sessions(client: httpx.AsyncClient, day: dt.date, sold_out: tuple[str, str], offices: tuple) -> None:
    operator = await staff_token(client, "bench-operator@kanim", "operator")
    for office, session in [sold_out, *((o, s) for o in offices for s in ("pagi", "siang"))]:
        capacity = 0 if (office, session) == sold_out else 10000
        answer = await client.put(
            f"/v1/operator/offices/{office}/capacity",
            headers=operator,
            json={"date": day.isoformat(), "session": session, "capacity": capacity},
        )
        answer.raise_for_status()


def one_system(mode: str, requests: int, bookings: int, concurrency: int, env: dict[str, str]) -> list[Burst]:
    folder = Path(tempfile.mkdtemp(prefix=f"paspor-bench-tracing-{mode}-"))
    system = EmbeddedSystem(folder / "data", gateway_port=free_port(), env=UNLIMITED | env | MODES[mode])
    try:
        system.start()
        return asyncio.run(bursts(system.gateway_url, requests, bookings, concurrency, server_processes(system)))
    finally:
        system.stop()
        shutil.rmtree(folder, ignore_errors=True)


def compare(requests: int, bookings: int, concurrency: int, rounds: int, env: dict[str, str], store: str) -> None:
    """Run the bursts with tracing off and on, `rounds` times each (alternating), and print the medians."""
    runs: dict[str, list[list[Burst]]] = {"off": [], "on": []}
    for _ in range(rounds):
        for mode in ("off", "on"):
            runs[mode].append(one_system(mode, requests, bookings, concurrency, env))
    table = Table(title=f"Tracing's cost, gateway on {store} stores (medians of {rounds} rounds, default sampling)")
    for column in ("operation", "req/s off", "req/s on", "on/off", "p99 ms off", "p99 ms on", "CPU ms/req off", "on"):
        table.add_column(column, justify="left" if column == "operation" else "right")
    for i, name in enumerate(b.name for b in runs["off"][0]):
        off, on = ([r[i] for r in runs[m]] for m in ("off", "on"))
        rate_off, rate_on = (statistics.median(b.rate for b in bs) for bs in (off, on))
        table.add_row(
            name,
            f"{rate_off:,.0f}",
            f"{rate_on:,.0f}",
            f"{rate_on / rate_off:.3f}",
            f"{statistics.median(b.percentile(99) for b in off):.1f}",
            f"{statistics.median(b.percentile(99) for b in on):.1f}",
            f"{statistics.median(b.server_ms_per_request for b in off):.2f}",
            f"{statistics.median(b.server_ms_per_request for b in on):.2f}",
        )
    console.print(table)
