"""The quota service as it runs: a real nats-server, a `paspor service quota` process, a real store.

Shared by the quota benchmarks (`paspor bench quota`, `paspor bench quota-cluster`), with their common options.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Annotated

import nats
import typer

from paspor.embedded import stop_services
from paspor.natsserver import NatsServer
from shared import clock
from shared.calendar import is_office_day
from shared.events import DEFAULT_PARTITIONS, BookingRequested, Slot, subject_for
from shared.offices import load_offices
from shared.runtime.bus import ensure_streams
from shared.sessions import SESSIONS

PostgresAdminUrl = Annotated[str, typer.Option(help="A PostgreSQL server (a fresh database is made and dropped).")]
Sessions = Annotated[int, typer.Option(min=1, help="Sessions the requests spread over.")]
Runs = Annotated[int, typer.Option(min=1, max=9, help="Runs per contender (medians are reported).")]
Batch = Annotated[int, typer.Option(min=1, help="Quota worker batch size.")]
Requests = Annotated[int, typer.Option(min=1000, help="Booking requests per run.")]
POSTGRES_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"


def bench_day() -> dt.date:
    """An office day a week or more ahead whose weekday is an office day for the two weeks after, too."""
    day = clock.now().date() + dt.timedelta(days=7)
    while not is_office_day(day) or any(not is_office_day(day + _days(k)) for k in range(3)):
        day += dt.timedelta(days=1)
    return day


def bench_slots(count: int, day: dt.date) -> list[Slot]:
    """`count` sessions: the offices' two sessions on one day, as many offices as needed."""
    offices = [o.code for o in load_offices()]
    return [
        Slot(
            office=offices[i // 2 % len(offices)],
            date=day + _days(i // (2 * len(offices))),
            session=SESSIONS[i % 2],
        )
        for i in range(count)
    ]


def _days(n: int) -> dt.timedelta:
    return dt.timedelta(days=7 * n)  # a week later keeps the weekday an office day


class QuotaServiceRun:
    """One nats-server and the quota workers (sharing the partitions) on a fresh store, for one measurement."""

    replicas = 1

    def __init__(self, store: str, postgres_url: str | None, batch: int, workers: int = 1, leases: bool = True) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="paspor-bench-"))
        self.store, self.postgres_url, self.batch, self.worker_count = store, postgres_url, batch, workers
        self.leases = leases  # partition leases and the fence of every save (ADR 9), or configuration alone
        self.server = NatsServer(self.folder / "nats")
        self.workers: list[subprocess.Popen[bytes]] = []
        self.arrivals: dict[str, float] = {}

    @property
    def urls(self) -> list[str]:
        return [self.server.url]

    def __enter__(self) -> QuotaServiceRun:
        self.server.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop_workers()
        self.server.stop()

    def stop_workers(self) -> None:
        stop_services([(f"quota-{number}", worker) for number, worker in enumerate(self.workers, start=1)])

    def start_workers(self) -> None:
        """`paspor service quota` processes, each owning its share of the partitions (as in compose.yaml)."""
        for number, owned in enumerate(partition_shares(self.worker_count), start=1):
            env = os.environ | {
                "PASPOR_NATS_URL": ",".join(self.urls),
                "PASPOR_STREAM_REPLICAS": str(self.replicas),
                "PASPOR_DATA_DIR": str(self.folder),
                "PASPOR_EVENT_STORE": self.store,
                "PASPOR_QUOTA_BATCH_SIZE": str(self.batch),
                "PASPOR_QUOTA_WINDOW_DAYS": "366",
                "PASPOR_QUOTA_PARTITIONS_OWNED": owned,
                "PASPOR_QUOTA_LEASES": "true" if self.leases else "false",
            }
            if self.postgres_url:
                env["PASPOR_POSTGRES_URL"] = self.postgres_url
            with open(self.folder / f"quota-{number}.log", "wb") as log:
                self.workers.append(
                    subprocess.Popen(
                        [sys.executable, "-m", "paspor", "service", "quota"],
                        env=env,
                        stdout=log,
                        stderr=subprocess.STDOUT,
                    )
                )

    async def throughput(self, requests: list[BookingRequested]) -> float:
        """Preload the requests, start the workers, and time the outcomes: decisions per second."""
        nc = await nats.connect(servers=self.urls)
        js = nc.jetstream()
        await ensure_streams(js, self.replicas)
        began = time.perf_counter()
        await publish_all(js, requests)
        self.published_in = time.perf_counter() - began
        sub = await nc.subscribe("paspor.quota.*.*", cb=self._arrived)
        self.start_workers()
        await self._until(len(requests), timeout=900)
        await sub.unsubscribe()
        await nc.close()
        times = sorted(self.arrivals.values())
        return (len(times) - 1) / (times[-1] - times[0])

    async def latency(self, requests: list[BookingRequested], rate: float) -> list[float]:
        """Publish at a steady `rate` to the running worker; milliseconds from publish to outcome."""
        self.arrivals.clear()
        nc = await nats.connect(servers=self.urls)
        js = nc.jetstream()
        sub = await nc.subscribe("paspor.quota.*.*", cb=self._arrived)
        sent: dict[str, float] = {}
        began = time.perf_counter()
        for i, request in enumerate(requests):
            await asyncio.sleep(max(0.0, began + i / rate - time.perf_counter()))
            sent[str(request.booking_id)] = time.perf_counter()
            await js.publish(
                subject_for(request, request.slot.office),
                request.model_dump_json().encode(),
                headers={"Nats-Msg-Id": str(request.message_id)},
            )
        await self._until(len(requests), timeout=120)
        await sub.unsubscribe()
        await nc.close()
        return [(self.arrivals[b] - t) * 1000 for b, t in sent.items()]

    async def _arrived(self, msg) -> None:  # noqa: ANN001
        now = time.perf_counter()
        for start in _occurrences(msg.data, b'"booking_id":"'):
            self.arrivals.setdefault(msg.data[start : start + 36].decode(), now)

    async def _until(self, count: int, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while len(self.arrivals) < count:
            if time.monotonic() > deadline:
                raise TimeoutError(f"only {len(self.arrivals)} of {count} outcomes; see the logs in {self.folder}")
            if any(worker.poll() is not None for worker in self.workers):
                raise RuntimeError(f"a quota worker died; see the logs in {self.folder}")
            await asyncio.sleep(0.05)


def partition_shares(workers: int, partitions: int = DEFAULT_PARTITIONS) -> list[str]:
    """Contiguous shares of the partitions, one per worker: 2 workers -> '0,1,2,3' and '4,5,6,7'."""
    if not 1 <= workers <= partitions:
        raise ValueError(f"workers must be between 1 and {partitions}")
    shares = [range(partitions)[i * partitions // workers : (i + 1) * partitions // workers] for i in range(workers)]
    return [",".join(map(str, share)) for share in shares]


def _occurrences(data: bytes, marker: bytes):  # noqa: ANN202
    at = data.find(marker)
    while at >= 0:
        yield at + len(marker)
        at = data.find(marker, at + 1)


async def publish_all(js, requests: list[BookingRequested]) -> None:  # noqa: ANN001
    for start in range(0, len(requests), 2000):
        await asyncio.gather(
            *(
                js.publish(
                    subject_for(r, r.slot.office),
                    r.model_dump_json().encode(),
                    headers={"Nats-Msg-Id": str(r.message_id)},
                    timeout=10,  # a loaded machine acknowledges 2,000 at once slower than nats-py's 2 s default
                )
                for r in requests[start : start + 2000]
            )
        )


def make_requests(slots: list[Slot], targets: list[int]) -> list[BookingRequested]:
    return [BookingRequested(booking_id=uuid.uuid4(), slot=slots[t], applicants=1) for t in targets]
