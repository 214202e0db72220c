"""Quota decisions/s on the distributed topology: a 3-node NATS cluster (streams replicated 3 times,
fsync before ack or not), 2 quota workers sharing the partitions, PostgreSQL; beside one worker on
one nats-server, same requests, same machine."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Annotated

import nats
import typer

from paspor.cluster.nodes import NatsCluster
from shared.runtime.bus import ensure_streams

from .counter import rush_targets
from .quota import _database, _office_day
from .quota_service import QuotaServiceRun, bench_slots, make_requests, publish_all
from .report import Figures, console, side_by_side

HALVES = ("0,1,2,3", "4,5,6,7")


class ClusterRun(QuotaServiceRun):
    """Three routed nats-server nodes and two quota workers, each owning half of the partitions."""

    def __init__(self, postgres_url: str, batch: int, sync: str) -> None:
        super().__init__("postgres", postgres_url, batch)
        self.cluster = NatsCluster(self.folder / "nats", ["nats1", "nats2", "nats3"], sync)
        self.workers: list[subprocess.Popen[bytes]] = []

    def __enter__(self) -> ClusterRun:
        self.cluster.start()
        return self

    def __exit__(self, *_: object) -> None:
        for worker in self.workers:
            worker.terminate()
            worker.wait(30)
        self.cluster.stop()

    def start_worker(self) -> None:
        for owned in HALVES:
            env = os.environ | {
                "PASPOR_NATS_URL": ",".join(self.cluster.urls), "PASPOR_STREAM_REPLICAS": "3",
                "PASPOR_DATA_DIR": str(self.folder), "PASPOR_EVENT_STORE": "postgres",
                "PASPOR_POSTGRES_URL": self.postgres_url, "PASPOR_QUOTA_BATCH_SIZE": str(self.batch),
                "PASPOR_QUOTA_WINDOW_DAYS": "366", "PASPOR_QUOTA_PARTITIONS_OWNED": owned,
            }
            with open(self.folder / f"quota-{owned[0]}.log", "wb") as log:
                self.workers.append(subprocess.Popen([sys.executable, "-m", "paspor", "service", "quota"], env=env,
                                                     stdout=log, stderr=subprocess.STDOUT))
        self.worker = self.workers[0]

    async def throughput(self, requests) -> float:  # noqa: ANN001
        nc = await nats.connect(servers=self.cluster.urls)
        js = nc.jetstream()
        await ensure_streams(js, 3)
        began = time.perf_counter()
        await publish_all(js, requests)
        console.print(f"    published {len(requests):,} requests (R3) in {time.perf_counter() - began:.1f}s")
        sub = await nc.subscribe("paspor.quota.*.*", cb=self._arrived)
        self.start_worker()
        await self._until(len(requests), timeout=900)
        await sub.unsubscribe()
        await nc.close()
        times = sorted(self.arrivals.values())
        return (len(times) - 1) / (times[-1] - times[0])


def command(
    postgres_url: Annotated[str, typer.Option(help="A PostgreSQL server (a fresh database is made and dropped).")] = "postgresql://postgres@127.0.0.1:5432/postgres",
    requests: Annotated[int, typer.Option(min=1000, help="Booking requests per run.")] = 50_000,
    sessions: Annotated[int, typer.Option(min=1, help="Sessions the requests spread over.")] = 250,
    runs: Annotated[int, typer.Option(min=1, max=9, help="Runs per contender (medians are reported).")] = 1,
    batch: Annotated[int, typer.Option(min=1, help="Quota worker batch size.")] = 1000,
    sync: Annotated[str, typer.Option(help="Cluster fsync: always, default, or both.")] = "both",
) -> None:
    slots = bench_slots(sessions, _office_day())
    targets = rush_targets(requests, sessions)
    console.print(f"{requests:,} requests over {sessions} sessions, {runs} run(s), batch {batch}, PostgreSQL stores")
    single = Figures("1 worker, 1 nats-server")
    for _ in range(runs):
        with _database("postgres", postgres_url) as url, QuotaServiceRun("postgres", url, batch) as run:
            single.rates.append(asyncio.run(run.throughput(make_requests(slots, targets))))
    for mode in (("always", "default") if sync == "both" else (sync,)):
        cluster = Figures(f"2 workers, 3-node cluster R3, sync {mode}")
        for _ in range(runs):
            with _database("postgres", postgres_url) as url, ClusterRun(url, batch, mode) as run:
                cluster.rates.append(asyncio.run(run.throughput(make_requests(slots, targets))))
        side_by_side(f"Quota decisions per second: cluster (sync {mode}) beside one node", "decisions/s", cluster, single)


if __name__ == "__main__":
    typer.run(command)
