"""Soak: bookings at a steady rate for many minutes; every process's memory and open files, p50/p99 and
throughput sampled each minute, written as CSV and drawn as a chart.

The system is `paspor bench gateway`'s (embedded, SQLite stores, rate limits off). Each booking is a
new citizen's (a development token, the terms accepted, one booking), so `--rate` counts bookings and
each brings two more requests. The comparison is the soak's own first sample, and its middle one: the
last one's memory, open files and p99 beside each, as a ratio (flat is about 1). Caches bounded by time
fill during a warm-up; a plateau shows as a second half near 1.00x.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from paspor.embedded import EmbeddedSystem
from paspor.load.sessions import MAX_CAPACITY, office_days, set_capacities, slots_for
from paspor.load.steady import LoadPlan, SteadyLoad, dev_token
from paspor.natsserver import free_port
from paspor.rush.http import Http
from shared import clock
from shared.runtime.settings import CommonSettings

from .gateway_load import UNLIMITED, server_processes
from .soak_chart import draw
from .soak_sample import Sample, Sampler, write_csv

console = Console(highlight=False)
OFFICES = ["SBY-TPI", "DENPASAR", "MDN-TPI", "MAKASSAR", "GRESIK", "MALANG"]


async def soak(
    system: EmbeddedSystem, minutes: float, rate: float, every: float, servers: dict[str, int], cancel: bool = False
) -> list[Sample]:
    seconds = minutes * 60
    needed = math.ceil(rate * seconds * 1.2 / (len(OFFICES) * 2 * MAX_CAPACITY))
    slots = slots_for(OFFICES, office_days(10, needed))
    load = SteadyLoad(
        LoadPlan([system.gateway_url], slots, rate, run=int(time.time()) % 15000, cancel=cancel), dev_token
    )
    samples: list[Sample] = []
    async with Http(128) as http:
        operator = {"Authorization": f"Bearer {await dev_token_of(http, system, 'operator')}"}
        await set_capacities(http, system.gateway_url, operator, dict.fromkeys(slots, MAX_CAPACITY))
        await asyncio.sleep(2)  # the availability read model shows the new capacities
        sampler = Sampler(servers | {"load client": os.getpid()})
        running = asyncio.create_task(load.run(http, seconds))
        period = 0
        while not running.done():
            period += 1
            await asyncio.wait([running], timeout=max(0.0, period * every - load.now()))
            sample = sampler.sample(load.now() / 60, load.drain(), load.started - sum(s.sent for s in samples))
            samples.append(sample)
            console.print(line(sample))
        running.result()
    return samples


async def dev_token_of(http: Http, system: EmbeddedSystem, role: str) -> str:
    reply = await http.call("POST", f"{system.gateway_url}/v1/dev/token", json={"subject": "soak@kanim", "role": role})
    return reply.body["access_token"]


def line(sample: Sample) -> str:
    memory = ", ".join(f"{name} {mb:.0f}" for name, mb in sample.rss.items())
    files = ", ".join(f"{name} {count}" for name, count in sample.fds.items())
    return (
        f"[{sample.minute:5.1f} min] {sample.per_second:.1f} bookings/s, p50 {sample.p50_ms:.0f} ms, "
        f"p99 {sample.p99_ms:.0f} ms, failed {sample.failed}, errors {sample.errors}, client CPU "
        f"{sample.client_cpu:.0%}, load {sample.load_average:.1f}\n    RSS MB: {memory}\n    open files: {files}"
    )


def report(samples: list[Sample], rate: float, every: float) -> None:
    full = [s for s in samples if s.seconds >= every / 2] or samples  # not the short tail after the load ended
    first = full[0]
    table = Table(title=f"Soak at {rate}/s: first full sample vs last ({len(full)} of {len(samples)} samples)")
    middle = full[len(full) // 2]  # a plateau reached after a warm-up shows as a flat second half
    for column in ("figure", "first", f"middle ({middle.minute:.0f} min)", "last", "last / first", "last / middle"):
        table.add_column(column, justify="left" if column == "figure" else "right")
    series: dict[str, list[float]] = {f"RSS MB: {n}": [s.rss[n] for s in full] for n in first.rss}
    series |= {f"open files: {n}": [float(s.fds[n]) for s in full] for n in first.fds}
    series |= {
        "p50 ms": [s.p50_ms for s in full],
        "p99 ms": [s.p99_ms for s in full],
        "bookings/s": [s.per_second for s in full],
        "client CPU (share of a core)": [s.client_cpu for s in full],
        "load average": [s.load_average for s in full],
    }
    for name, values in series.items():
        a, m, b = values[0], values[len(full) // 2], values[-1]
        ratio = lambda x, y: f"{y / x:.2f}x" if x else "-"  # noqa: E731
        table.add_row(name, f"{a:,.2f}", f"{m:,.2f}", f"{b:,.2f}", ratio(a, b), ratio(m, b))
    console.print(table)
    console.print(f"failed bookings: {sum(s.failed for s in samples)}, errors met: {sum(s.errors for s in samples)}")


def short_horizons(minutes: float) -> dict[str, str]:
    """The settings that make every memory kept for a while keep it `minutes`: idempotency keys, the streams'
    messages, unpaid payment holds (each a day, 400 days and two hours by default)."""
    return {
        "PASPOR_IDEMPOTENCY_TTL_SECONDS": str(max(60, round(minutes * 60))),
        "PASPOR_STREAM_MAX_AGE_DAYS": f"{minutes / 1440:.6f}",
        "PASPOR_BOOKING_PAYMENT_HOLD_MINUTES": f"{minutes:g}",
    }


def command(
    rate: Annotated[float, typer.Option(min=0.1, max=2000, help="Bookings per second (new citizens).")],
    minutes: Annotated[float, typer.Option(min=0.1, max=24 * 60, help="How long the load goes on.")] = 30,
    sample_seconds: Annotated[float, typer.Option(min=1, help="Seconds between samples.")] = 60,
    csv_path: Annotated[Path, typer.Option("--csv", help="The samples as CSV.")] = Path("soak.csv"),
    chart: Annotated[Path, typer.Option(help="The chart (PNG).")] = Path("docs/soak.png"),
    horizon_minutes: Annotated[
        float | None,
        typer.Option(
            min=5,
            help="Keep idempotency keys, stream messages and unpaid payment holds this many minutes (default: a day, "
            "400 days, two hours), so that their plateaus show within the soak.",
        ),
    ] = None,
    cancel: Annotated[
        bool, typer.Option(help="Each citizen cancels its booking once confirmed: slots, holds and tickets turn over.")
    ] = False,
) -> None:
    """Soak: a steady booking rate for --minutes; memory, open files, p50/p99, throughput each --sample-seconds."""
    clock.use(CommonSettings().clock())  # the services' clock (PASPOR_CLOCK_START): tokens and days agree
    with contextlib.ExitStack() as stack:
        folder = Path(tempfile.mkdtemp(prefix="paspor-bench-soak-"))
        stack.callback(shutil.rmtree, folder, ignore_errors=True)
        env = dict(UNLIMITED) | (short_horizons(horizon_minutes) if horizon_minutes else {})
        system = EmbeddedSystem(folder / "data", gateway_port=free_port(), env=env)
        stack.callback(system.stop)
        system.start()
        samples = asyncio.run(soak(system, minutes, rate, sample_seconds, server_processes(system), cancel))
    if not samples:
        raise typer.Exit(1)
    report(samples, rate, sample_seconds)
    console.print(f"samples: {write_csv(samples, csv_path)}")
    how = (", each cancelled" if cancel else "") + (f", horizons {horizon_minutes:g} min" if horizon_minutes else "")
    title = f"Soak: {rate:g} bookings/s{how} for {minutes:g} min (embedded, SQLite; a shared 2-core machine)"
    console.print(f"chart: {draw(samples, chart, title)}")
