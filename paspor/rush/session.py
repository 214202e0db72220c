"""One `paspor rush`: per run, the release against our system (and the conventional baseline), checked, reported."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import statistics
import tempfile
import time
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console

from ..traces import hop_figures, read_spans
from .baseline_target import NAME as CONVENTIONAL
from .baseline_target import BaselineServer
from .chart import draw
from .display import LiveView
from .driver import Orders, RushRun, drive
from .invariants import Verdict, check, told_per_session
from .phone import FOLLOW_MODES
from .release import Release, find_release
from .report import hops_table, invariants_table, results_table
from .results import figures, medians, ratios
from .scenario import Scenario, Slot, population

OURS = "event-sourced (paspor)"


class InvalidOptions(ValueError):
    """An option out of its range, or options that do not go together."""


@dataclass(frozen=True)
class RushOptions:
    scenario: Scenario = field(default_factory=Scenario)
    dates: tuple[dt.date, ...] = ()  # empty: the first date(s) open at every office, from the system's calendar
    gateway_url: str | None = None  # None: start the embedded system on a fresh data folder per run
    data_dir: Path | None = None  # a running system's folder (to audit it), or where the embedded runs keep theirs
    compare: bool = False
    runs: int = 1
    postgres_admin: str = "postgresql://postgres@127.0.0.1:5432/postgres"
    baseline_workers: int = 2
    clients: int = 2  # client processes
    connections: int = 400  # HTTP connections in all, shared out among the client processes
    follow: str = "auto"
    patience: float = 60.0  # seconds a phone follows a pending booking before it counts as without outcome
    output_dir: Path = Path("rush-report")
    audit: bool = True
    trace: float = 0.0  # share of the bookings traced (0: the system's own setting); hops reported per name

    def __post_init__(self) -> None:
        wrong = []
        if not 1 <= self.runs <= 20:
            wrong.append("runs must be 1 to 20")
        if not 1 <= self.clients <= 16:
            wrong.append("clients must be 1 to 16")
        if not self.clients <= self.connections <= 10_000:
            wrong.append("connections must be at least one per client process, and at most 10,000")
        if not 1 <= self.baseline_workers <= 16:
            wrong.append("baseline workers must be 1 to 16")
        if self.follow not in FOLLOW_MODES:
            wrong.append(f"follow must be one of {', '.join(FOLLOW_MODES)}")
        if not 1 <= self.patience <= 600:
            wrong.append("patience must be 1 to 600 seconds")
        if self.dates and len(self.dates) != self.scenario.days:
            wrong.append(f"give as many dates as --days ({self.scenario.days}), not {len(self.dates)}")
        if len(set(self.dates)) != len(self.dates):
            wrong.append("the dates must differ")
        if self.gateway_url and not self.gateway_url.startswith(("http://", "https://")):
            wrong.append("the gateway URL must start with http:// or https://")
        if self.gateway_url and self.data_dir and not self.data_dir.is_dir():
            wrong.append(f"the running system's data folder {self.data_dir} does not exist")
        if not 0 <= self.trace <= 1:
            wrong.append("the traced share must be 0 to 1")
        if self.trace and self.gateway_url and not self.data_dir:
            wrong.append("tracing a running system needs its data folder (--data-dir), where its spans are")
        if wrong:
            raise InvalidOptions("; ".join(wrong))


@dataclass
class Outcome:
    """One system in one run: what the client measured, and what was checked."""

    run: RushRun
    release: Release
    figures: dict[str, Any]
    verdicts: dict[str, Verdict]
    audit: dict[str, Any] | None = None
    hops: dict[str, tuple[int, float, float]] | None = None  # per hop of the sampled traces: count, p50, p99 ms


def rush(options: RushOptions, console: Console) -> dict[str, Any]:
    """Every run the options ask for; prints and writes the report (JSON and PNG); returns it."""
    options.output_dir.mkdir(parents=True, exist_ok=True)
    rounds: list[dict[str, Outcome]] = []
    for index in range(1, options.runs + 1):
        if options.runs > 1:
            console.rule(f"run {index} of {options.runs}")
        run = run_number()
        ours = _ours(options, run, console)
        found = {OURS: ours}
        if options.compare:
            found[CONVENTIONAL] = _conventional(options, run, ours.release, console)
        rounds.append(found)
    return _report(options, rounds, console)


def _ours(options: RushOptions, run: int, console: Console) -> Outcome:
    began = time.time_ns()
    if options.gateway_url:
        outcome = _against(options.gateway_url, options, run, console, options.data_dir, nats_url=None)
        if options.trace and options.data_dir:
            time.sleep(1)  # each process writes its spans every half second
            outcome.hops = hop_figures(s for s in read_spans(options.data_dir) if s.start >= began)
        return outcome
    from ..embedded import EmbeddedSystem
    from ..natsserver import free_port

    with ExitStack() as stack:
        if options.data_dir:
            folder = options.data_dir / f"run-{run}"
        else:
            folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="paspor-rush-")))
        env = {"PASPOR_TRACE_SAMPLE": str(options.trace)} if options.trace else {}
        # Each simulated phone names its own address in X-Forwarded-For (rate limits and booking budgets
        # per address): the rehearsal's load generator on this machine is the trusted proxy.
        env["PASPOR_GATEWAY_TRUSTED_PROXIES"] = '["127.0.0.1"]'
        system = EmbeddedSystem(folder, gateway_port=free_port(), env=env)
        console.print(f"starting the embedded system on a fresh data folder, {folder} …")
        system.start()
        try:
            outcome = _against(system.gateway_url, options, run, console, folder, nats_url=system.nats.url)
        finally:
            system.stop()  # the services write what spans they hold as they stop
        if options.trace:
            outcome.hops = hop_figures(read_spans(folder))
        return outcome


def _against(url: str, options: RushOptions, run: int, console: Console, folder: Path | None, nats_url) -> Outcome:
    release = find_release(url, options.scenario, list(options.dates) or None)
    console.print(_release_line(options.scenario, release))
    result = _drive(Orders(OURS, url, run, options.scenario, release.dates, **_client(options)), options, console)
    users = _users(options.scenario, release)
    told = told_per_session(result, users)
    if folder is not None and nats_url is not None:
        _settle(folder, console)
    held = _calendar_held(url, release, told, console)
    verdicts = check(result, users, release, held)
    audit = None
    if options.audit and folder is not None:
        audit = _audit(folder, console, settled=nats_url is not None, nats_url=nats_url)
        findings = len(audit["findings"])
        verdicts["system_audit"] = Verdict(
            audit["verdict"] == "ok", f"paspor audit: {audit['verdict']}, {findings} findings"
        )
    return Outcome(result, release, figures(result), verdicts, audit)


def _conventional(options: RushOptions, run: int, release: Release, console: Console) -> Outcome:
    server = BaselineServer(options.postgres_admin, options.baseline_workers, log=options.output_dir / "baseline.log")
    console.print(f"starting the conventional app ({options.baseline_workers} workers, database {server.database}) …")
    server.start()
    try:
        fresh = release.room_left()
        server.open_sessions(release)
        orders = Orders(CONVENTIONAL, server.base_url, run, options.scenario, release.dates, **_client(options))
        result = _drive(orders, options, console)
        findings, held, durability = server.check(), server.booked(), server.durability()
    finally:
        server.stop()
    verdicts = check(result, _users(options.scenario, release), fresh, held)
    broken = {k: v for k, v in findings.items() if v}
    settings = ", ".join(f"{k}={v}" for k, v in durability.items())
    detail = f"SQL checks: {broken or 'all 0'}; {settings}"
    verdicts["system_audit"] = Verdict(not broken and durability["synchronous_commit"] == "on", detail)
    return Outcome(result, fresh, figures(result), verdicts, {"checks": findings, "durability": durability})


def _client(options: RushOptions) -> dict[str, Any]:
    return {
        "processes": options.clients,
        "connections": options.connections,
        "follow": options.follow,
        "patience": options.patience,
    }


def _drive(orders: Orders, options: RushOptions, console: Console) -> RushRun:
    with LiveView(orders.name, console) as view:
        return asyncio.run(drive(orders, options.output_dir / "clients", view.update))


def _users(scenario: Scenario, release: Release):
    return {u.serial: u for u in population(scenario, release.dates)}


def _calendar_held(url: str, release: Release, told: dict[Slot, int], console: Console, patience: float = 30.0):
    """What the system's calendar says each session holds, once it agrees with what the citizens were told
    (or after `patience` seconds: then the invariant shows the difference)."""
    import httpx

    deadline, held = time.monotonic() + patience, dict[Slot, int]()
    with console.status("reading the system's calendar …"), httpx.Client(timeout=30) as client:
        while True:
            held = {}
            for office in {o for o, _, _ in release.capacity}:
                start, end = min(release.dates), max(release.dates)
                response = client.get(
                    f"{url}/v1/offices/{office}/calendar", params={"start": start.isoformat(), "end": end.isoformat()}
                )
                response.raise_for_status()
                for s in response.json()["sessions"]:
                    slot = (office, dt.date.fromisoformat(s["date"]), s["session"])
                    if slot in release.capacity:
                        held[slot] = s["booked"]
            if all(held.get(s, 0) - release.booked_before[s] == told.get(s, 0) for s in release.capacity):
                return held
            if time.monotonic() > deadline:
                return held
            time.sleep(1.0)


def _settle(folder: Path, console: Console, timeout: float = 120.0) -> None:
    """Wait until the services have caught up with one another (nothing pending in a live audit)."""
    from paspor.audit import run_audit
    from services.booking.main import BookingSettings

    deadline = time.monotonic() + timeout
    with console.status("waiting for the pipeline to finish what the rush started …"):
        while time.monotonic() < deadline:
            if not run_audit(BookingSettings(data_dir=folder, event_store="sqlite")).pending:
                return
            time.sleep(1.0)


def _audit(folder: Path, console: Console, settled: bool, nats_url: str | None = None) -> dict[str, Any]:
    from paspor.audit import Scope, run_audit
    from paspor.audit.report import print_report
    from services.booking.main import BookingSettings

    scope = Scope(grace=dt.timedelta(0)) if settled else Scope()
    settings = BookingSettings(data_dir=folder, event_store="sqlite")
    with console.status("auditing the event stores …"):
        result = run_audit(settings, scope)
        if nats_url:
            from paspor.audit.jetstream import cross_check_streams

            # The relays publish right after each save: a few seconds cover what is still on its way.
            cross_check_streams(settings, result, nats_url, grace=dt.timedelta(seconds=5))
    if result.ok:  # the full table only when something is wrong
        console.print(f"audit of the event stores: [green]OK[/green], {result.events_read:,} events replayed")
    else:
        console.rule("audit of the event stores after the rush")
        print_report(result, console, limit=20)
    audit = result.as_dict()
    audit.pop("invariants_checked")
    audit["findings"] = audit["findings"][:50]
    return audit


def _report(options: RushOptions, rounds: list[dict[str, Outcome]], console: Console) -> dict[str, Any]:
    targets = list(rounds[0])
    results = [medians([r[t].figures for r in rounds]) for t in targets]
    verdicts = [_worst([r[t].verdicts for r in rounds]) for t in targets]
    middle = _median_round(rounds)
    chart = draw(
        [rounds[middle][t].figures for t in targets],
        options.output_dir / "rush.png",
        _title(options.scenario, rounds[middle][OURS].release) + (f" — run {middle + 1}" if len(rounds) > 1 else ""),
    )
    report: dict[str, Any] = {
        "scenario": options.scenario.as_dict(),
        "release": rounds[0][OURS].release.as_dict(),
        "client": {"processes": options.clients, "connections": options.connections, "follow": options.follow},
        "results": results,
        "invariants": dict(zip(targets, verdicts, strict=True)),
        "runs": [{t: _round_dict(r[t]) for t in targets} for r in rounds],
        "chart": str(chart),
    }
    if len(results) == 2:
        report["ratio"] = ratios(*results)
    (options.output_dir / "rush.json").write_text(json.dumps(report, indent=2, default=str))
    console.print(results_table(results, len(rounds)))
    hops = rounds[middle][OURS].hops
    if hops is not None:
        report["hops"] = {name: {"count": c, "p50_ms": p50, "p99_ms": p99} for name, (c, p50, p99) in hops.items()}
        console.print(hops_table(hops, rounds[middle][OURS].figures))
    console.print(invariants_table(targets, verdicts))
    if report.get("ratio"):
        r = report["ratio"]
        console.print(
            f"ours ÷ conventional: attempts/s {r['attempts_per_second']}×, p50 {r['latency_p50']}×, "
            f"p95 {r['latency_p95']}×, p99 {r['latency_p99']}×"
        )
    console.print(f"chart: {chart}\nreport: {options.output_dir / 'rush.json'}")
    report["ok"] = all(v["ok"] for found in verdicts for v in found.values())
    return report


def _worst(runs: list[dict[str, Verdict]]) -> dict[str, dict[str, Any]]:
    """Per invariant over the runs: the first run that broke it, else kept in all (with the last run's detail)."""
    merged: dict[str, dict[str, Any]] = {}
    for index, verdicts in enumerate(runs, start=1):
        for key, verdict in verdicts.items():
            if key not in merged or merged[key]["ok"]:
                merged[key] = {"ok": verdict.ok, "detail": verdict.detail, "run": index}
    for worst in merged.values():
        run = worst.pop("run")
        if len(runs) > 1:
            worst["detail"] = (
                f"run {run}: {worst['detail']}" if not worst["ok"] else f"all {len(runs)} runs; last: {worst['detail']}"
            )
    return merged


def _median_round(rounds: list[dict[str, Outcome]]) -> int:
    rates = [r[OURS].figures["attempts_per_second"] for r in rounds]
    middle = statistics.median_low(rates)
    return rates.index(middle)


def _round_dict(outcome: Outcome) -> dict[str, Any]:
    return {
        "figures": {k: v for k, v in outcome.figures.items() if k != "timeline"},
        "invariants": {k: v.as_dict() for k, v in outcome.verdicts.items()},
        "audit": outcome.audit,
        "clients": outcome.run.clients,
    }


def _release_line(scenario: Scenario, release: Release) -> str:
    dates = ", ".join(d.isoformat() for d in release.dates)
    return (
        f"release: {scenario.offices} offices × {len(release.dates)} date(s) ({dates}) × 2 sessions = "
        f"{release.places:,} places; {scenario.citizens:,} citizens and {scenario.broker_count:,} brokers "
        f"arrive within {scenario.burst_seconds:g} s"
    )


def _title(scenario: Scenario, release: Release) -> str:
    return (
        f"Rush: {scenario.citizens:,} citizens (+{scenario.broker_count:,} brokers) for {release.places:,} places "
        f"within {scenario.burst_seconds:g} s"
    )


def run_number() -> int:
    """A run's own number: its accounts, devices and NIKs differ from any earlier run's on the same system."""
    import uuid

    return uuid.uuid4().int % 10**9
