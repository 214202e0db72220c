"""One `paspor rush`: the scenario against the event-sourced system, optionally the baseline, then the audit."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console

from .baseline_target import BaselineServer, BaselineTarget
from .chart import draw
from .display import LiveView
from .gateway_target import GatewayTarget, run_number
from .results import figures, table
from .runner import RushRun, Target, run_rush
from .scenario import Scenario, population


@dataclass(frozen=True)
class RushOptions:
    scenario: Scenario
    gateway_url: str | None = None  # None: start the embedded system in a fresh folder
    data_dir: Path | None = None  # the stores to audit (the embedded system's, or a running system's)
    compare: bool = False
    postgres_admin: str = "postgresql://postgres@127.0.0.1:5432/postgres"
    baseline_workers: int | None = None
    connections: int = 200
    output_dir: Path = Path("rush-report")
    audit: bool = True


def rush(options: RushOptions, console: Console) -> dict[str, Any]:
    """Run everything the options ask for; print and write the report; return it."""
    options.output_dir.mkdir(parents=True, exist_ok=True)
    run, runs = run_number(), []
    report: dict[str, Any] = {"when": dt.datetime.now(dt.UTC).isoformat(), "scenario": options.scenario.as_dict()}
    ours, audit = _ours(options, run, console)
    runs.append(ours)
    report["audit"] = audit
    if options.compare:
        baseline, check = _baseline(options, run, console)
        runs.append(baseline)
        report["baseline_check"] = check
    results = [figures(r) for r in runs]
    report["results"] = results
    if len(results) == 2:
        report["ratio"] = _ratios(results)
    chart = draw(
        results,
        [[a.latency_ms for a in r.attempts] for r in runs],
        options.output_dir / "rush.png",
        f"Rush: {options.scenario.users:,} users, {len(options.scenario.sessions())} sessions",
    )
    report["chart"] = str(chart)
    (options.output_dir / "rush.json").write_text(json.dumps(report, indent=2, default=str))
    console.print(table(results))
    console.print(f"chart: {chart}\nreport: {options.output_dir / 'rush.json'}")
    return report


def _ours(options: RushOptions, run: int, console: Console) -> tuple[RushRun, dict[str, Any] | None]:
    if options.gateway_url:
        result = _drive(GatewayTarget(options.gateway_url, run), options, console)
        return result, _audit(options.data_dir, console, settled=False) if options.audit and options.data_dir else None
    from ..embedded import EmbeddedSystem
    from ..natsserver import free_port

    with tempfile.TemporaryDirectory(prefix="paspor-rush-") as scratch:
        folder = options.data_dir or Path(scratch)
        system = EmbeddedSystem(folder, gateway_port=free_port())
        console.print(f"starting the embedded system in {folder} …")
        system.start()
        try:
            result = _drive(GatewayTarget(system.gateway_url, run), options, console)
            _settle(folder, console)
            audit = _audit(folder, console, settled=True, nats_url=system.nats.url) if options.audit else None
        finally:
            system.stop()
        return result, audit


def _drive(target: Target, options: RushOptions, console: Console, before=None) -> RushRun:
    users = population(options.scenario)
    console.print(
        f"[bold]{target.name}[/bold]: preparing {len(users):,} users (sign-in, terms), then releasing the quota …"
    )

    async def go() -> RushRun:
        if before is not None:
            await before()
        with LiveView(target.name, console) as view:
            return await run_rush(target, options.scenario, users, run_id(target), options.connections, view.update)

    return asyncio.run(go())


def run_id(target: Target) -> int:
    return getattr(target, "run", 0)


def _settle(folder: Path, console: Console, timeout: float = 60.0) -> None:
    """Wait until the services have caught up with one another (nothing pending in a live audit)."""
    import time

    from paspor.audit import run_audit
    from services.booking.main import BookingSettings

    deadline = time.monotonic() + timeout
    with console.status("waiting for the pipeline to finish what the rush started …"):
        while time.monotonic() < deadline:
            if not run_audit(BookingSettings(data_dir=folder, event_store="sqlite")).pending:
                return
            time.sleep(1.0)


def _baseline(options: RushOptions, run: int, console: Console) -> tuple[RushRun, dict[str, int]]:
    server = BaselineServer(options.postgres_admin, options.baseline_workers)
    console.print(f"starting the conventional baseline (database {server.database}) …")
    server.start()
    try:
        target = BaselineTarget(server.base_url, run, options.scenario)

        async def open_sessions() -> None:
            import httpx

            async with httpx.AsyncClient() as client:
                await target.open_sessions(client)

        result = _drive(target, options, console, before=open_sessions)
        check = server.check()
    finally:
        server.stop()
    verdict = "ok" if not any(check.values()) else "BROKEN"
    console.print(f"baseline check: {verdict} {check}")
    return result, check


def _audit(folder: Path, console: Console, settled: bool, nats_url: str | None = None) -> dict[str, Any]:
    from paspor.audit import Scope, run_audit
    from paspor.audit.report import print_report
    from services.booking.main import BookingSettings

    scope = Scope(grace=dt.timedelta(0)) if settled else Scope()
    settings = BookingSettings(data_dir=folder, event_store="sqlite")
    result = run_audit(settings, scope)
    if nats_url:
        from paspor.audit.jetstream import cross_check_streams

        # The relays publish right after each save: a few seconds cover what is still on its way.
        cross_check_streams(settings, result, nats_url, grace=dt.timedelta(seconds=5))
    console.rule("audit of the event stores after the rush")
    print_report(result, console, limit=20)
    audit = result.as_dict()
    audit.pop("invariants_checked")
    audit["findings"] = audit["findings"][:50]
    return audit


def _ratios(results: list[dict[str, Any]]) -> dict[str, float | None]:
    ours, theirs = results
    pick: dict[str, Callable[[dict[str, Any]], float]] = {
        "attempts_per_second": lambda r: r["attempts_per_second"],
        "confirmed": lambda r: r["confirmed"],
        **{f"latency_{p}": _latency(p) for p in ("p50", "p95", "p99")},
    }
    return {k: round(f(ours) / f(theirs), 3) if f(theirs) else None for k, f in pick.items()}


def _latency(percentile: str) -> Callable[[dict[str, Any]], float]:
    return lambda r: r["latency_ms"][percentile]
