"""One chaos run: a private PostgreSQL, the local cluster, a steady load, the faults, the read-back, the audit."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from paspor.cluster.local import LocalCluster
from paspor.cluster.pgserver import PrivatePostgres
from paspor.load.follow import follow
from paspor.load.records import Attempt, Tally
from paspor.load.sessions import MAX_CAPACITY, office_days, set_capacities, slots_for
from paspor.load.steady import LoadPlan, SteadyLoad
from paspor.rush.http import Http

from .faults import Injector
from .schedule import Fault, plan
from .verdict import Verdict, judge

# Offices on both quota workers' partitions (compose.yaml splits the 8 partitions between them).
OFFICES = ["GRESIK", "JKT-SEL", "MALANG", "BANDUNG", "SEMARANG", "DENPASAR"]
UNLIMITED = {f"PASPOR_GATEWAY_RATE_{who}": "1000000" for who in ("ADDRESS", "ACCOUNT", "DEVICE")}
PROGRESS_SECONDS = 30.0


@dataclass(frozen=True)
class ChaosSettings:
    minutes: float
    rate: float
    seed: int
    interval: float
    patience: float = 120.0
    data_dir: Path | None = None


@dataclass
class ChaosResult:
    faults: list[tuple[Fault, float, float | None]] = field(default_factory=list)  # fault, began, seconds to recover
    attempts: list[Attempt] = field(default_factory=list)
    unexpected_exits: list[tuple[float, str, int]] = field(default_factory=list)
    not_recovered: str | None = None
    down_at_end: list[str] = field(default_factory=list)  # processes not running when the load was over
    load_averages: list[float] = field(default_factory=list)  # the machine's, at each progress line
    audit_output: str = ""
    verdict: Verdict | None = None


def capacities(slots: list, rate: float, seconds: float) -> dict:
    """Room for everyone, but the first session is small: it sells out early, so refusals are part of the load."""
    expected = rate * seconds / len(slots)
    sized = {slot: min(MAX_CAPACITY, int(expected * 1.5) + 10) for slot in slots}
    sized[slots[0]] = max(3, int(expected / 3))
    return sized


class ChaosRun:
    def __init__(self, settings: ChaosSettings, say: Callable[[str], None]) -> None:
        self.settings, self.say, self.result = settings, say, ChaosResult()
        self.folder = settings.data_dir or Path(tempfile.mkdtemp(prefix="paspor-chaos-"))
        self.stop_faults = threading.Event()  # no fault after this
        self.idle = threading.Event()  # set by the fault thread: no fault in progress, none to come
        # The fault thread restarts processes, and a child dies with the *thread* that started it
        # (PR_SET_PDEATHSIG, `die_with_parent`): the thread lives until the cluster is stopped.
        self.release = threading.Event()

    def run(self) -> ChaosResult:
        postgres = PrivatePostgres().init().start()
        cluster = LocalCluster(self.folder / "cluster", postgres.database_url("paspor"), env=UNLIMITED)
        try:
            self.say(f"private PostgreSQL on port {postgres.port}; starting the local cluster in {self.folder}")
            cluster.start()
            self.say(f"cluster up: gateways {', '.join(cluster.gateway_urls)}")
            asyncio.run(self._load_and_faults(cluster, Injector(cluster, postgres, self.say)))
            self.result.down_at_end = down(cluster)
            self.result.audit_output, audit_ok = self._audit(cluster)
            healthy = self.result.not_recovered is None and not self.result.down_at_end
            self.result.verdict = judge(self.result.attempts, audit_ok, healthy)
        finally:
            self.stop_faults.set()
            cluster.stop()
            self.release.set()
            postgres.remove()
        return self.result

    async def _load_and_faults(self, cluster: LocalCluster, injector: Injector) -> None:
        seconds = self.settings.minutes * 60
        slots = slots_for(OFFICES, office_days(10, 1))
        load = SteadyLoad(
            LoadPlan(cluster.gateway_urls, slots, self.settings.rate, self.settings.seed, self.settings.patience),
            lambda http, gateway, subject: _token(cluster, subject),
            keep_headers=True,
        )
        faults = plan(self.settings.seed, seconds, self.settings.interval, Injector.targets(cluster))
        self.say(f"{len(faults)} faults planned (seed {self.settings.seed}); load: {self.settings.rate}/s")
        async with Http(64) as http:
            operator = {
                "Authorization": f"Bearer {cluster.issuer.token('chaos@imigrasi.go.id', 'operator')}",
                "X-Device-Id": "chaos-operator-desk",
            }
            await set_capacities(
                http, cluster.gateway_urls[0], operator, capacities(slots, self.settings.rate, seconds)
            )
            faulting = threading.Thread(target=self._inject, args=(faults, injector, load), daemon=True)
            reporter = asyncio.create_task(self._progress(load))
            faulting.start()
            await load.run(http, seconds)
            self.stop_faults.set()
            await asyncio.to_thread(self.idle.wait)
            reporter.cancel()
            self.result.attempts += load.drain()
            self.say(f"load over: {Tally.of(self.result.attempts).line()}; reading every acknowledged booking back")
            await follow(http, load, self.result.attempts, patience=self.settings.patience + 60)
        self.result.unexpected_exits = injector.unexpected_exits

    def _inject(self, faults: list[Fault], injector: Injector, load: SteadyLoad) -> None:
        try:
            self._play(faults, injector, load)
        finally:
            self.idle.set()
        self.release.wait()  # the processes this thread restarted die with it

    def _play(self, faults: list[Fault], injector: Injector, load: SteadyLoad) -> None:
        try:
            for fault in faults:
                while load.now() < fault.at:
                    if self.stop_faults.wait(1.0):
                        return
                    injector.revive(load.now())
                began = load.now()
                self.say(f"[{_clock(began)}] [bold]fault[/bold] {fault.describe()}")
                back = injector.apply(fault)
                self.result.faults.append((fault, began, back))
                self.say(f"[{_clock(load.now())}] {fault.kind} {fault.target} back after {back:.1f}s")
            while not self.stop_faults.wait(1.0):
                injector.revive(load.now())
        except (
            RuntimeError,
            OSError,
            subprocess.SubprocessError,
        ) as error:  # NotRecovered, a server that would not start
            self.result.not_recovered = str(error)
            self.say(f"[red]not recovered: {error}[/red]; the load stops")
            load.stop()

    async def _progress(self, load: SteadyLoad) -> None:
        while True:
            await asyncio.sleep(PROGRESS_SECONDS)
            self.result.attempts += load.drain()
            open_now = list(load.open.values())
            self.result.load_averages.append(os.getloadavg()[0])
            said = Tally.of(self.result.attempts + open_now).line()
            self.say(f"[{_clock(load.now())}] {said}; load average {self.result.load_averages[-1]:.1f}")

    def _audit(self, cluster: LocalCluster) -> tuple[str, bool]:
        """`paspor audit` on the PostgreSQL stores, with a booking service's settings, as an auditor runs it."""
        self.say("running the audit (paspor audit) on the PostgreSQL stores")
        output = self.folder / "audit.json"
        result = subprocess.run(
            [sys.executable, "-m", "paspor", "audit", "--grace", "30", "--format", "json", "--output", str(output)],
            env=os.environ | cluster.environment("booking-1"),
            capture_output=True,
            text=True,
            timeout=900,
        )
        if not output.exists():
            return f"the audit wrote no report (exit {result.returncode}): {result.stderr[-2000:]}", False
        found = json.loads(output.read_text())
        text = (
            f"audit verdict {found['verdict']} (exit {result.returncode}) in {found['seconds']}s; "
            f"events read {found['events_read']}; totals {found['totals']}; broken {found['broken'] or 'none'}; "
            f"pending {found['pending'] or 'none'}; report {output}"
        )
        for finding in found["findings"][:10]:
            text += f"\n  {finding['invariant']}: {finding['subject']}: {finding['detail']}"
        return text, result.returncode == 0


def down(cluster: LocalCluster) -> list[str]:
    """The cluster's processes that are not running."""
    nodes = {name: node.process for name, node in cluster.nats.nodes.items()}
    return sorted(
        name
        for name, process in (nodes | dict(cluster.processes)).items()
        if process is None or process.poll() is not None
    )


async def _token(cluster: LocalCluster, subject: str) -> str:
    return cluster.issuer.token(subject)


def _clock(seconds: float) -> str:
    return f"{int(seconds // 60):02d}:{int(seconds % 60):02d}"
