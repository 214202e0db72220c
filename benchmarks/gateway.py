"""Gateway requests/s: the calendar, a sold-out booking attempt and a successful booking, in one run.

The same running system serves two gateways: ours (calendar and sold-out refusals from the availability
read model, a KV watch) and a conventional one (calendar asked of the quota service, every attempt
through the booking service). Successful bookings are timed one at a time (the unloaded latency,
request to 201 confirmed) and many in flight (confirmed bookings/s), on SQLite or PostgreSQL stores.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import itertools
import shutil
import tempfile
from pathlib import Path
from typing import Annotated

import httpx
import typer
from rich.console import Console
from rich.table import Table

from paspor.cluster.pgserver import temporary_database
from paspor.embedded import EmbeddedSystem
from paspor.natsserver import free_port
from shared import clock
from shared.calendar import is_office_day

from .gateway_load import (
    UNLIMITED,
    Burst,
    Request,
    burst,
    citizens,
    conventional_gateway,
    request,
    server_processes,
    staff_token,
    until,
)

console = Console()
SOLD_OUT = ("SEMARANG", "pagi")
OPEN_OFFICES = ("SBY-TPI", "DENPASAR", "MDN-TPI", "MAKASSAR")


def office_day(start_in: int) -> dt.date:
    day = clock.now().date() + dt.timedelta(days=start_in)
    while not is_office_day(day):
        day += dt.timedelta(days=1)
    return day


def body(office: str, day: dt.date, session: str, serial: int) -> dict:
    nik = f"3174{serial // 9999 % 99 + 1:02d}170590{serial % 9999 + 1:04d}"
    return {
        "office": office,
        "date": day.isoformat(),
        "session": session,
        "kk_number": f"317401{serial:010d}",
        "applicants": [{"name": f"Bench {serial}", "nik": nik, "birth_date": "1990-05-17"}],
    }


async def measure(
    ours: httpx.AsyncClient,
    theirs: httpx.AsyncClient,
    requests: int,
    bookings: int,
    concurrency: int,
    alone: int,
    servers: dict[str, int],
) -> list[Burst]:
    day = office_day(10)
    operator = await staff_token(ours, "bench-operator@kanim", "operator")
    for office, session in [SOLD_OUT, *((o, s) for o in OPEN_OFFICES for s in ("pagi", "siang"))]:
        capacity = 0 if (office, session) == SOLD_OUT else 10000
        (
            await ours.put(
                f"/v1/operator/offices/{office}/capacity",
                headers=operator,
                json={"date": day.isoformat(), "session": session, "capacity": capacity},
            )
        ).raise_for_status()
    await until(lambda: sold_out_shown(ours, day))
    triers = await citizens(ours, concurrency, "trier")
    bookers = await citizens(ours, bookings + alone, "booker")
    week = f"start={day.isoformat()}&end={(day + dt.timedelta(days=30)).isoformat()}"
    calendar = [request("GET", f"/v1/offices/{SOLD_OUT[0]}/calendar?{week}")] * requests
    keys = (f"bench-key-{i:08d}" for i in itertools.count())

    def attempts(count: int) -> list[Request]:
        return [
            request(
                "POST",
                "/v1/bookings",
                triers[i % concurrency] | {"Idempotency-Key": next(keys)},
                body(SOLD_OUT[0], day, SOLD_OUT[1], i % concurrency),
            )
            for i in range(count)
        ]

    slots = [(o, s) for o in OPEN_OFFICES for s in ("pagi", "siang")]
    successes = [
        request(
            "POST",
            "/v1/bookings",
            bookers[i] | {"Idempotency-Key": f"bench-book-{i:06d}"},
            body(slots[i % len(slots)][0], day, slots[i % len(slots)][1], 10_000 + i),
        )
        for i in range(bookings + alone)
    ]
    ours_url, theirs_url = str(ours.base_url).rstrip("/"), str(theirs.base_url).rstrip("/")
    return [
        await burst(
            "GET /health (for scale)", ours_url, [request("GET", "/health")] * requests, concurrency, servers=servers
        ),
        await burst("calendar, 31 days: read model (ours)", ours_url, calendar, concurrency, servers=servers),
        await burst("calendar, 31 days: asked of quota", theirs_url, calendar, concurrency, servers=servers),
        await burst("sold-out attempt: fast path (ours)", ours_url, attempts(requests), concurrency, servers=servers),
        await burst(
            "sold-out attempt: through the pipeline",
            theirs_url,
            attempts(max(concurrency, requests // 4)),
            concurrency,
            servers=servers,
        ),
        await burst("successful booking, one at a time (unloaded)", ours_url, successes[:alone], 1, servers=servers),
        await burst(
            f"successful bookings, {concurrency} in flight", ours_url, successes[alone:], concurrency, servers=servers
        ),
    ]


async def sold_out_shown(client: httpx.AsyncClient, day: dt.date) -> bool:
    params = {"start": day.isoformat(), "end": day.isoformat()}
    sessions = (await client.get(f"/v1/offices/{SOLD_OUT[0]}/calendar", params=params)).json()["sessions"]
    return any(s["session"] == SOLD_OUT[1] and s["reason"] == "sold_out" for s in sessions)


def report(bursts: list[Burst], store: str) -> None:
    table = Table(title=f"Gateway on {store} stores (one run, same system, 2 cores shared with the load generator)")
    for column in ("operation", "requests", "answers", "req/s", "p50 ms", "p99 ms", "server CPU ms/req", "client CPU"):
        table.add_column(column, justify="left" if column == "operation" else "right")
    for b in bursts:
        answers = ", ".join(f"{status}: {count}" for status, count in sorted(b.statuses.items()))
        table.add_row(
            b.name,
            str(len(b.latencies_ms)),
            answers,
            f"{b.rate:,.0f}",
            f"{b.percentile(50):.1f}",
            f"{b.percentile(99):.1f}",
            f"{b.server_ms_per_request:.2f}",
            f"{b.client_share:.0%}" + (" (saturated)" if b.client_share > 0.85 else ""),
        )
    calendar, sold = bursts[1].rate / bursts[2].rate, bursts[3].rate / bursts[4].rate
    table.caption = (
        f"calendar: read model / quota query = {calendar:.1f}x; sold-out: fast path / pipeline = {sold:.1f}x"
    )
    console.print(table)
    for b in (bursts[3], bursts[-1]):  # where a refusal's and a booking's CPU goes, process by process
        shares = ", ".join(
            f"{name} {seconds * 1000 / len(b.latencies_ms):.2f}" for name, seconds in b.server_cpu.items()
        )
        console.print(f"{b.name}: CPU ms per request by process: {shares}")


def command(
    requests: Annotated[int, typer.Option(min=50, help="Calendar reads and sold-out attempts per contender.")] = 2000,
    bookings: Annotated[int, typer.Option(min=10, help="Successful bookings (one citizen each).")] = 400,
    concurrency: Annotated[int, typer.Option(min=1, max=512, help="Requests in flight.")] = 32,
    alone: Annotated[int, typer.Option(min=10, help="Successful bookings timed one at a time (unloaded).")] = 100,
    event_store: Annotated[str, typer.Option(help="sqlite (embedded) or postgres.")] = "sqlite",
    postgres_url: Annotated[
        str, typer.Option(help="PostgreSQL server (a temporary database is made and dropped).")
    ] = "postgresql://postgres@127.0.0.1:5432/postgres",
    tracing_overhead: Annotated[
        bool,
        typer.Option(
            help="Instead: our gateway's bursts with tracing off and on (default sampling), side by side, "
            "each on a fresh system, alternating for --rounds."
        ),
    ] = False,
    rounds: Annotated[
        int, typer.Option(min=1, max=10, help="With --tracing-overhead or --admission: rounds of off and on.")
    ] = 2,
    admission: Annotated[
        bool,
        typer.Option(
            help="Instead: the booking path with shared admission on (budgets in NATS KV) and off (per replica), "
            "two gateways of one system, alternating for --rounds."
        ),
    ] = False,
) -> None:
    """Gateway requests/s: calendar, sold-out attempt (fast path vs pipeline), successful booking."""
    if event_store not in ("sqlite", "postgres"):
        raise typer.BadParameter("sqlite or postgres", param_hint="--event-store")
    if tracing_overhead and event_store != "sqlite":
        raise typer.BadParameter(
            "--tracing-overhead starts fresh embedded systems: sqlite only", param_hint="--event-store"
        )
    with contextlib.ExitStack() as stack:
        env = dict(UNLIMITED)
        if event_store == "postgres":
            url = stack.enter_context(temporary_database(postgres_url, "paspor_bench_gateway"))
            env |= {"PASPOR_EVENT_STORE": "postgres", "PASPOR_POSTGRES_URL": url}
        if tracing_overhead:
            from .gateway_tracing import compare

            return compare(requests, bookings, concurrency, rounds, env, event_store)
        if admission:
            from . import gateway_admission

            return gateway_admission.compare(requests, bookings, concurrency, alone, rounds, env, event_store)
        folder = Path(tempfile.mkdtemp(prefix="paspor-bench-gateway-"))
        stack.callback(shutil.rmtree, folder, ignore_errors=True)
        system = EmbeddedSystem(folder / "data", gateway_port=free_port(), env=env)
        stack.callback(system.stop)
        system.start()
        process, theirs_url = conventional_gateway(system, folder)
        stack.callback(lambda: (process.terminate(), process.wait(30)))
        servers = server_processes(system) | {"conventional gateway": process.pid}
        asyncio.run(_run(system.gateway_url, theirs_url, requests, bookings, concurrency, alone, event_store, servers))


async def _run(
    ours_url: str,
    theirs_url: str,
    requests: int,
    bookings: int,
    concurrency: int,
    alone: int,
    store: str,
    servers: dict[str, int],
) -> None:
    limits = httpx.Limits(max_connections=concurrency * 2, max_keepalive_connections=concurrency * 2)
    async with (
        httpx.AsyncClient(base_url=ours_url, timeout=60, limits=limits) as ours,
        httpx.AsyncClient(base_url=theirs_url, timeout=60, limits=limits) as theirs,
    ):
        report(await measure(ours, theirs, requests, bookings, concurrency, alone, servers), store)
