"""Quota decisions/s: the quota service (JetStream -> batch -> one durable save -> JetStream) against the
conventional counter (one SQL row per session, `UPDATE ... WHERE reserved < capacity`, 32 connections),
on PostgreSQL and on SQLite, in one run; then the worker's memory with a whole calendar loaded."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Annotated

import typer

from shared.events import DEFAULT_PARTITIONS
from shared.offices import load_offices

from .counter import prepare_postgres, run_postgres, run_sqlite, rush_targets
from .quota_service import (
    POSTGRES_ADMIN_URL,
    Batch,
    PostgresAdminUrl,
    QuotaServiceRun,
    Requests,
    Runs,
    Sessions,
    bench_day,
    bench_slots,
    make_requests,
)
from .report import Figures, console, side_by_side
from .stores import fresh_database


def command(
    postgres_url: PostgresAdminUrl = POSTGRES_ADMIN_URL,
    requests: Requests = 100_000,
    sessions: Sessions = 250,
    runs: Runs = 3,
    batch: Batch = 1000,
    workers: Annotated[
        str, typer.Option(help="Quota worker processes sharing the partitions, one figure each (e.g. 1,2).")
    ] = "1,2",
    latency_rate: Annotated[int, typer.Option(min=100, help="Requests/s offered when measuring latency.")] = 2000,
    leases: Annotated[
        str,
        typer.Option(
            help="Partition leases and fence (ADR 9): on, off, or on,off to measure both in the same run, side by side."
        ),
    ] = "on",
    backends: Annotated[str, typer.Option(help="Comma-separated: postgres, sqlite.")] = "postgres,sqlite",
    memory: Annotated[bool, typer.Option(help="Also measure the worker's memory with a whole calendar.")] = True,
    rush: Annotated[
        int,
        typer.Option(
            min=0,
            max=100,
            help="Memory and restart after every session's rush, oversubscribed this many times (0: skip).",
        ),
    ] = 20,
    before: Annotated[
        bool, typer.Option(help="Also the rush's memory with every refused id kept (no dedupe horizon): the before.")
    ] = False,
    rush_sessions: Annotated[
        int, typer.Option(min=250, max=22_500, help="Sessions rushed (22,500: 125 offices x 90 days x 2).")
    ] = 22_500,
) -> None:
    day = bench_day()
    slots = bench_slots(sessions, day)
    targets = rush_targets(requests, sessions)
    counts = _worker_counts(workers)
    modes = _lease_modes(leases)
    chosen = [b.strip() for b in backends.split(",") if b.strip()]
    if unknown := [b for b in chosen if b not in ("postgres", "sqlite")]:
        raise typer.BadParameter(f"unknown backend {unknown[0]!r}", param_hint="--backends")
    console.print(
        f"{requests:,} requests over {sessions} sessions (capacity 100 each), {runs} runs, batch {batch}, "
        f"quota service with {' and '.join(map(str, counts))} worker process(es)"
    )
    for backend in chosen:
        ours = {
            (n, lease): Figures(f"quota service, {n} worker{'s' if n > 1 else ''}{_lease_label(lease)} ({backend})")
            for n in counts
            for lease in modes
        }
        theirs = Figures(f"SQL counter ({backend})")
        for run in range(runs):
            for n, lease in ours:
                with fresh_database(backend, postgres_url) as url:
                    _run_ours(ours[n, lease], backend, url, slots, targets, batch, latency_rate, n, lease)
            with fresh_database(backend, postgres_url) as url:
                _run_theirs(theirs, backend, url, sessions, targets, latency_rate)
            mine = ", ".join(f"ours ({n}{_lease_label(lease)}) {f.rates[-1]:,.0f}/s" for (n, lease), f in ours.items())
            console.print(f"  {backend} run {run + 1}: {mine}, counter {theirs.rates[-1]:,.0f}/s")
        for (n, lease), figures in ours.items():
            side_by_side(
                f"Decisions per second on {backend} (durable commits), {n} quota worker(s){_lease_label(lease)}",
                "decisions/s",
                figures,
                theirs,
            )
        if len(modes) == 2:
            for n in counts:
                side_by_side(
                    f"The cost of partition leases on {backend}, {n} quota worker(s)",
                    "decisions/s",
                    ours[n, True],
                    ours[n, False],
                )
    if memory:
        _memory()
    if rush:
        _rush_memory(rush_sessions, rush, [900, 0] if before else [900])


def _worker_counts(text: str) -> list[int]:
    try:
        counts = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise typer.BadParameter(f"expected numbers like 1,2 (got {text!r})", param_hint="--workers") from None
    if not counts or not all(1 <= n <= DEFAULT_PARTITIONS for n in counts):
        raise typer.BadParameter(f"each count must be between 1 and {DEFAULT_PARTITIONS}", param_hint="--workers")
    return counts


def _lease_modes(text: str) -> list[bool]:
    words = [part.strip() for part in text.split(",") if part.strip()]
    if not words or any(word not in ("on", "off") for word in words) or len(set(words)) != len(words):
        raise typer.BadParameter(f"expected on, off or on,off (got {text!r})", param_hint="--leases")
    return [word == "on" for word in words]


def _lease_label(lease: bool) -> str:
    return "" if lease else ", no leases"


def _run_ours(
    figures: Figures,
    backend: str,
    url: str | None,
    slots,
    targets,
    batch: int,
    rate: int,  # noqa: ANN001
    workers: int,
    leases: bool = True,
) -> None:
    with QuotaServiceRun(backend, url, batch, workers, leases) as run:
        figures.rates.append(asyncio.run(run.throughput(make_requests(slots, targets))))
        sample = make_requests(slots, rush_targets(min(4000, len(targets)), len(slots), seed=11))
        figures.latencies_ms.extend(asyncio.run(run.latency(sample, rate)))


def _run_theirs(figures: Figures, backend: str, url: str | None, sessions: int, targets, rate: int) -> None:  # noqa: ANN001
    if backend == "postgres":
        prepare_postgres(url, sessions, 100)
        result, latencies = asyncio.run(run_postgres(url, targets))
    else:
        result, latencies = run_sqlite(Path(tempfile.mkdtemp()) / "counter.sqlite", sessions, 100, targets)
    figures.rates.append(result)
    figures.latencies_ms.extend(latencies)


def _memory() -> None:
    sessions = len(load_offices()) and 125 * 90 * 2
    for fill in (0, 100):
        out = subprocess.run(
            [sys.executable, "-m", "benchmarks.quota_memory", str(sessions), str(fill)],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split()
        console.print(
            f"worker memory, {sessions:,} sessions (125 offices x 90 days x 2) cached, {fill} booked each: "
            f"[bold]{float(out[0]):.0f} MB[/bold] resident"
        )


def _rush_memory(sessions: int, oversubscribed: int, horizons: list[int]) -> None:
    """Each session's rush at its day's release, then a restart that loads every session (child processes)."""
    for horizon in horizons:
        folder = tempfile.mkdtemp(prefix="paspor-rush-mem-")
        child = [sys.executable, "-m", "benchmarks.quota_rush_memory"]
        rushed = subprocess.run(
            [*child, "rush", folder, str(sessions), str(oversubscribed), str(horizon)],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split()
        kept = f"dedupe horizon {horizon} s" if horizon else "every refused id kept (no horizon)"
        console.print(
            f"worker memory, {sessions:,} sessions each rushed {oversubscribed}x ({kept}): "
            f"[bold]{float(rushed[0]):.0f} MB[/bold] resident, {int(rushed[1]):,} refused ids remembered"
        )
        restarted = subprocess.run(
            [*child, "restart", folder], capture_output=True, text=True, check=True
        ).stdout.split()
        console.print(
            f"restart: first answer after [bold]{float(restarted[3]) + float(restarted[5]):.2f} s[/bold] "
            f"(opening the store {float(restarted[5]):.2f} s, loading the session and deciding), the last day's {2 * 125} sessions loaded after "
            f"{float(restarted[4]):.2f} s, all {int(restarted[1]):,} from their snapshots after "
            f"[bold]{float(restarted[2]):.1f} s[/bold]; {float(restarted[0]):.0f} MB resident"
        )
