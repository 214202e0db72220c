"""Quota decisions/s on the distributed topology: a 3-node NATS cluster (streams replicated 3 times,
fsync before ack or not), 2 quota workers sharing the partitions, PostgreSQL; beside one worker on
one nats-server, same requests, same machine."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer

from paspor.cluster.nodes import NatsCluster

from .counter import rush_targets
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


class ClusterRun(QuotaServiceRun):
    """Three routed nats-server nodes (streams R3) and two quota workers, each owning half of the partitions."""

    replicas = 3

    def __init__(self, postgres_url: str, batch: int, sync: str) -> None:
        super().__init__("postgres", postgres_url, batch, workers=2)
        self.cluster = NatsCluster(self.folder / "nats", ["nats1", "nats2", "nats3"], sync)

    @property
    def urls(self) -> list[str]:
        return self.cluster.urls

    def __enter__(self) -> ClusterRun:
        self.cluster.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop_workers()
        self.cluster.stop()


def command(
    postgres_url: PostgresAdminUrl = POSTGRES_ADMIN_URL,
    requests: Requests = 50_000,
    sessions: Sessions = 250,
    runs: Runs = 1,
    batch: Batch = 1000,
    sync: Annotated[str, typer.Option(help="Cluster fsync: always, default, or both.")] = "both",
) -> None:
    slots = bench_slots(sessions, bench_day())
    targets = rush_targets(requests, sessions)
    console.print(f"{requests:,} requests over {sessions} sessions, {runs} run(s), batch {batch}, PostgreSQL stores")
    single = Figures("1 worker, 1 nats-server")
    for _ in range(runs):
        with fresh_database("postgres", postgres_url) as url, QuotaServiceRun("postgres", url, batch) as run:
            single.rates.append(asyncio.run(run.throughput(make_requests(slots, targets))))
    for mode in ("always", "default") if sync == "both" else (sync,):
        cluster = Figures(f"2 workers, 3-node cluster R3, sync {mode}")
        for _ in range(runs):
            with fresh_database("postgres", postgres_url) as url, ClusterRun(url, batch, mode) as run:
                cluster.rates.append(asyncio.run(run.throughput(make_requests(slots, targets))))
                console.print(f"    published {requests:,} requests (R3) in {run.published_in:.1f}s")
        side_by_side(
            f"Quota decisions per second: cluster (sync {mode}) beside one node", "decisions/s", cluster, single
        )


if __name__ == "__main__":
    typer.run(command)
