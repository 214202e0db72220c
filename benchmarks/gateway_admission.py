"""Shared admission's cost for `paspor bench gateway --admission`: the booking path with budgets counted for
the fleet in NATS KV (on) and per replica (off), two gateways of one system, in one run.

The embedded system's gateway counts in the bucket `paspor_admission`; a second gateway on the same system
counts in its own memory (PASPOR_GATEWAY_ADMISSION_SHARED=false). Both lease 3 attempts at a time (the
defaults lease 3 of an account's 30 and 20 of an address's budget): a round trip every third attempt of
an account and of an address, a pessimistic share. Budgets are large: nothing is refused, everything is
counted. Rounds alternate which gateway goes first; the report shows each operation's median.
"""

from __future__ import annotations

import asyncio
import itertools
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import httpx
import nats
from rich.console import Console
from rich.table import Table

from paspor.embedded import EmbeddedSystem
from paspor.natsserver import free_port
from services.gateway.admission import Admission, SharedCounter
from services.gateway.allowance import Budget
from services.gateway.metrics import Metrics
from shared import clock
from shared.events import ADMISSION_BUCKET
from shared.runtime.natsauth import NatsLogin

from .gateway_load import (
    UNLIMITED,
    Burst,
    Request,
    burst,
    citizens,
    conventional_gateway,
    cpu_seconds,
    request,
    server_processes,
    until,
)

LEASE = {"PASPOR_GATEWAY_ADMISSION_LEASE": "3"}
OFF = {"PASPOR_GATEWAY_ADMISSION_SHARED": "false"} | LEASE
console = Console(width=220)  # the table is wide: never truncated in a log


def compare(
    requests: int, bookings: int, concurrency: int, alone: int, rounds: int, env: dict[str, str], store: str
) -> None:
    """Start one system with two gateways (admission shared and not), run the booking bursts, print them."""
    folder = Path(tempfile.mkdtemp(prefix="paspor-bench-admission-"))
    system = EmbeddedSystem(folder / "data", gateway_port=free_port(), env=UNLIMITED | env | LEASE)
    process = None
    try:
        system.start()
        assert system.nats.process is not None
        asyncio.run(micro(system.nats.url, system.login("gateway"), system.nats.process.pid, 2000, 6, concurrency))
        process, off_url = conventional_gateway(system, folder, OFF, name="admission-off")
        servers = server_processes(system) | {"gateway (off)": process.pid}
        urls = {"on": system.gateway_url, "off": off_url}
        runs = asyncio.run(_rounds(urls, requests, bookings, concurrency, alone, rounds, servers))
        report(runs, rounds, store)
        leases = {mode: leases_taken(url) for mode, url in urls.items()}
        attempts = sum(len(b.latencies_ms) for bursts in runs["on"] for b in bursts)
        console.print(
            f"leases from the shared bucket (on): {leases['on']['shared']:,.0f} for {attempts:,} attempts "
            f"({leases['on']['shared'] / attempts:.2f} round trips per attempt, account and address together); "
            f"fallbacks to local: {leases['on']['local']:,.0f}; off: {leases['off']['local']:,.0f} local leases"
        )
    finally:
        if process is not None:
            process.terminate()
            process.wait(30)
        system.stop()
        shutil.rmtree(folder, ignore_errors=True)


async def _rounds(
    urls: dict[str, str],
    requests: int,
    bookings: int,
    concurrency: int,
    alone: int,
    rounds: int,
    servers: dict[str, int],
) -> dict[str, list[list[Burst]]]:
    from .gateway import OPEN_OFFICES, SOLD_OUT, body, office_day, sold_out_shown
    from .gateway_tracing import open_sessions

    limits = httpx.Limits(max_connections=concurrency * 2, max_keepalive_connections=concurrency * 2)
    async with httpx.AsyncClient(base_url=urls["on"], timeout=60, limits=limits) as client:
        day = office_day(10)
        await open_sessions(client, day, SOLD_OUT, OPEN_OFFICES)
        await until(lambda: sold_out_shown(client, day))
        async with httpx.AsyncClient(base_url=urls["off"], timeout=60) as off:
            await until(lambda: sold_out_shown(off, day))
        triers = await citizens(client, concurrency, "trier")
        bookers = iter(await citizens(client, rounds * 2 * (bookings + alone), "booker"))
    keys = (f"bench-admission-{i:08d}" for i in itertools.count())
    serials = itertools.count(20_000)  # each booking its own applicant (one upcoming booking per NIK)
    slots = [(o, s) for o in OPEN_OFFICES for s in ("pagi", "siang")]

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

    def successes(count: int) -> list[Request]:
        made = []
        for i, headers in zip(range(count), bookers, strict=False):  # each booker books once
            office, session = slots[i % len(slots)]
            wanted = body(office, day, session, next(serials))
            made.append(request("POST", "/v1/bookings", headers | {"Idempotency-Key": next(keys)}, wanted))
        return made

    runs: dict[str, list[list[Burst]]] = {"on": [], "off": []}
    for round_ in range(rounds):
        for mode in ("on", "off") if round_ % 2 == 0 else ("off", "on"):
            url = urls[mode]
            runs[mode].append(
                [
                    await burst("sold-out attempt (the door)", url, attempts(requests), concurrency, servers=servers),
                    await burst("successful booking, one at a time", url, successes(alone), 1, servers=servers),
                    await burst(
                        f"successful bookings, {concurrency} in flight",
                        url,
                        successes(bookings),
                        concurrency,
                        servers=servers,
                    ),
                ]
            )
    return runs


def leases_taken(url: str) -> dict[str, float]:
    """The gateway's admission leases so far, by counter (shared, local), from its /metrics."""
    taken = {"shared": 0.0, "local": 0.0}
    for line in httpx.get(f"{url}/metrics", timeout=10).text.splitlines():
        if line.startswith("paspor_gateway_admission_leases_total"):
            counter = "shared" if 'counter="shared"' in line else "local"
            taken[counter] += float(line.rsplit(" ", 1)[1])
    return taken


def report(runs: dict[str, list[list[Burst]]], rounds: int, store: str) -> None:
    table = Table(
        title=f"Shared admission's cost on the booking path, {store} stores (medians of {rounds} rounds; "
        "on: budgets counted in NATS KV, off: per replica)"
    )
    columns = ("operation", "req/s on", "req/s off", "on/off", "p50 ms on/off", "p99 ms on/off")
    for column in (*columns, "server CPU ms/req on/off", "gateway CPU ms/req on/off", "client CPU"):
        table.add_column(column, justify="left" if column == "operation" else "right")
    for i, name in enumerate(b.name for b in runs["on"][0]):
        on, off = ([r[i] for r in runs[m]] for m in ("on", "off"))
        rate_on, rate_off = (statistics.median(b.rate for b in bs) for bs in (on, off))

        def med(bs: list[Burst], figure) -> float:  # noqa: ANN001
            return statistics.median(figure(b) for b in bs)

        def gateway_ms(b: Burst, process: str) -> float:
            return b.server_cpu[process] * 1000 / len(b.latencies_ms)

        client = max(b.client_share for b in on + off)
        table.add_row(
            name,
            f"{rate_on:,.0f}",
            f"{rate_off:,.0f}",
            f"{rate_on / rate_off:.3f}",
            f"{med(on, lambda b: b.percentile(50)):.1f} / {med(off, lambda b: b.percentile(50)):.1f}",
            f"{med(on, lambda b: b.percentile(99)):.1f} / {med(off, lambda b: b.percentile(99)):.1f}",
            f"{med(on, lambda b: b.server_ms_per_request):.2f} / {med(off, lambda b: b.server_ms_per_request):.2f}",
            f"{med(on, lambda b: gateway_ms(b, 'gateway')):.2f} / {med(off, lambda b: gateway_ms(b, 'gateway (off)')):.2f}",
            f"{client:.0%}" + (" (saturated)" if client > 0.85 else ""),
        )
    console.print(table)
    for mode in ("on", "off"):
        answers: dict[int, int] = {}
        for bursts in runs[mode]:
            for b in bursts:
                for status, count in b.statuses.items():
                    answers[status] = answers.get(status, 0) + count
        console.print(f"answers with admission {mode}: {dict(sorted(answers.items()))}")


async def _admits(admission: Admission, accounts: int, per_account: int, concurrency: int) -> int:
    """Every account tries `per_account` times (a citizen at a sold-out session, trying again after the others
    had their turn), a hundred accounts per address."""
    citizens = [(f"bench:citizen-{a}", f"10.77.{a // 100 // 256}.{a // 100 % 256}") for a in range(accounts)]
    queue = [pair for _ in range(per_account) for pair in citizens]  # each citizen tries again later, not at once
    queue.reverse()
    refused = 0

    async def worker() -> None:
        nonlocal refused
        while queue:
            refused += await admission.admit(*queue.pop()) is not None

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return refused


async def micro(
    nats_url: str, login: NatsLogin, nats_pid: int, accounts: int, per_account: int, concurrency: int
) -> None:
    """The admission alone, in this process, against the system's nats-server: shared bucket vs per replica."""
    nc = await nats.connect(nats_url, **login.connect_options())
    table = Table(
        title=f"Admission alone: {accounts:,} accounts x {per_account} attempts, {concurrency} at a time, defaults"
    )
    for column in (
        "counter",
        "attempts/s",
        "CPU µs/attempt (this process)",
        "nats-server µs/attempt",
        "round trips/attempt",
        "refused",
    ):
        table.add_column(column, justify="left" if column == "counter" else "right")
    try:
        rates = {}
        for mode in ("shared (on)", "per replica (off)"):
            metrics = Metrics()
            budgets = [Budget("account", 30, 60, 20), Budget("address", 6000, 60, 20)]
            admission = Admission(budgets, metrics, lambda: clock.now().timestamp(), shared=mode.startswith("shared"))
            if admission.shared:
                admission.counting_in(
                    SharedCounter(await nc.jetstream(timeout=admission.timeout).key_value(ADMISSION_BUCKET))
                )
            nats_before, cpu_before, began = cpu_seconds(nats_pid), time.process_time(), time.perf_counter()
            refused = await _admits(admission, accounts, per_account, concurrency)
            seconds, attempts = time.perf_counter() - began, accounts * per_account
            shared = metrics.admission_leases.labels("account", "shared")._value.get()
            shared += metrics.admission_leases.labels("address", "shared")._value.get()
            rates[mode] = attempts / seconds
            table.add_row(
                mode,
                f"{attempts / seconds:,.0f}",
                f"{(time.process_time() - cpu_before) * 1e6 / attempts:.1f}",
                f"{(cpu_seconds(nats_pid) - nats_before) * 1e6 / attempts:.1f}",
                f"{shared / attempts:.2f}",
                f"{refused:,}",
            )
    finally:
        await nc.close()
    table.caption = f"on/off = {rates['shared (on)'] / rates['per replica (off)']:.3f}"
    console.print(table)
