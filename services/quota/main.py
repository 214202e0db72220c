"""The quota service: settings, wiring and the runnable service."""

from __future__ import annotations

import asyncio
import base64
import binascii
import datetime as dt
import functools
import logging
from collections.abc import Callable, Sequence
from typing import Any

from pydantic import Field, field_validator, model_validator

from shared.draw import DrawWindow
from shared.events import partition_of, utcnow
from shared.offices import load_offices
from shared.release import ReleaseSchedule
from shared.runtime.faults import CrashPoint
from shared.runtime.lease import LeaseTerms
from shared.runtime.relay import Scope
from shared.runtime.service import Runtime
from shared.runtime.settings import CommonSettings
from shared.runtime.store import data_key, store_env

from .application import QuotaApplication
from .draws import DrawDesk, seeds_from_key
from .fence import Partition
from .fencing import Ownership
from .leases import PartitionLeases, open_leases
from .messaging import QuotaWorker, consumer_spec
from .metrics import QuotaMetrics
from .replay import OutcomeReplays
from .waitlist_messaging import HoldDesk
from .wire import to_wire

log = logging.getLogger(__name__)


class QuotaSettings(CommonSettings):
    """Quota worker settings (PASPOR_QUOTA_*)."""

    quota_partitions_owned: str = Field(
        default="all", description="Partitions this worker consumes: 'all' or e.g. '0,1,2'."
    )
    quota_batch_size: int = Field(default=500, ge=1, le=10000, description="Requests per batch.")
    quota_fast_path_concurrency: int = Field(
        default=1000, ge=1, le=100000, description="Fast-path decisions of one partition waiting for a group commit."
    )
    quota_window_days: int = Field(default=60, ge=1, le=366, description="Days open for booking ahead.")
    quota_release_time: dt.time = Field(
        default=dt.time(0, 0), description="Local time (office time zone) at which a new date opens, HH:MM."
    )
    quota_dedupe_horizon_seconds: int = Field(
        default=900,
        ge=0,
        le=7 * 86400,
        description="How long a session remembers the ids of the requests it refused (0: for ever); a copy "
        "arriving later is looked up in the event store. Covers the stream's 120 s dedupe window, the 30 s "
        "ack wait and the redeliveries that follow.",
    )
    quota_snapshot_interval: int = Field(
        default=100, ge=0, le=100000, description="Events between two snapshots of a session (0: no snapshots)."
    )
    quota_leases: bool = Field(
        default=True,
        description="Decide a partition only while holding its lease (NATS KV bucket paspor_leases) and fence "
        "every save with the lease's epoch. Off: partitions are owned by configuration alone (benchmarks only).",
    )
    quota_lease_ttl_seconds: float = Field(
        default=10.0, ge=1, le=600, description="How long a partition's lease lives unrenewed (the bucket's TTL)."
    )
    quota_lease_renew_seconds: float = Field(
        default=3.0, gt=0, le=300, description="How often the holder renews a lease (at most half the TTL)."
    )
    quota_metrics_port: int = Field(
        default=0,
        ge=0,
        le=65535,
        description="Port of the worker's Prometheus metrics (leases held or waited for, epochs; 0: not served).",
    )
    quota_hold_seconds: int = Field(
        default=900,
        ge=1,
        le=7 * 86400,
        description="How long a freed place is held for the first one on the session's waitlist before it lapses "
        "and moves to the next (15 minutes).",
    )
    quota_hold_tick_seconds: float = Field(
        default=5.0,
        gt=0,
        le=60,
        description="How often the worker asks its clock for holds past their deadline (a hold lapses at most this "
        "late; it is also checked before any message of its session is decided).",
    )
    quota_draw: bool = Field(
        default=True,
        description="Release each date with a draw (ADR 10): requests in its draw window join a waiting room, "
        "ordered at random from a committed seed when the window closes (false: first come, first served).",
    )
    quota_draw_before_minutes: float = Field(
        default=10, ge=0, le=1440, description="Minutes before a date's release from which requests join its draw."
    )
    quota_draw_after_minutes: float = Field(
        default=5, ge=0, le=1440, description="Minutes after a date's release until which requests join its draw."
    )
    quota_draw_commit_lead_minutes: float = Field(
        default=30, ge=1, le=1440, description="Minutes before a draw window opens that its seed's hash is recorded."
    )
    quota_draw_tick_seconds: float = Field(
        default=1.0, gt=0, le=60, description="How often the worker checks the clock to commit and close draws."
    )
    quota_draw_key: str = Field(
        default="",
        description="Base64 of at least 32 secret bytes from which each draw's seed is derived; empty: the key "
        "kept in the data folder (keys/draw.key, made on first use). Workers sharing a store share it.",
    )
    quota_fault_crash_after_decisions: int = Field(
        default=0,
        ge=0,
        description="TEST HOOK, for fault tests only (0: off): the worker kills itself (SIGKILL) once its N-th "
        "fast-path decision is stored, before answering it.",
    )

    @field_validator("quota_draw_key")
    @classmethod
    def _draw_key(cls, value: str) -> str:
        if value and len(_key_bytes(value)) < 32:
            raise ValueError("the draw key must be base64 of at least 32 bytes")
        return value

    @field_validator("quota_partitions_owned")
    @classmethod
    def _partitions_list(cls, value: str) -> str:
        if value != "all" and not all(p.strip().isdigit() for p in value.split(",")):
            raise ValueError("must be 'all' or a comma-separated list of partition numbers")
        return value

    @model_validator(mode="after")
    def _renewed_within_the_ttl(self) -> QuotaSettings:
        self.lease_terms()  # ValueError (a clear message) when renewals are too rare for the TTL
        return self

    def lease_terms(self) -> LeaseTerms:
        return LeaseTerms(ttl=self.quota_lease_ttl_seconds, renew_every=self.quota_lease_renew_seconds)

    def owned(self) -> list[int]:
        if self.quota_partitions_owned == "all":
            return list(range(self.partitions))
        owned = sorted({int(p) for p in self.quota_partitions_owned.split(",")})
        if owned[-1] >= self.partitions:
            raise ValueError(f"partition {owned[-1]} does not exist (there are {self.partitions})")
        return owned


def _key_bytes(text: str) -> bytes:
    try:
        return base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("the draw key must be base64") from None


def draw_window(settings: QuotaSettings) -> DrawWindow | None:
    """The configured draw window (None: dates are released first come, first served)."""
    if not settings.quota_draw:
        return None
    minutes = dt.timedelta(minutes=1)
    return DrawWindow(
        before=settings.quota_draw_before_minutes * minutes,
        after=settings.quota_draw_after_minutes * minutes,
        commit_lead=settings.quota_draw_commit_lead_minutes * minutes,
    )


def build_application(settings: QuotaSettings) -> QuotaApplication:
    """The quota application on the configured event store."""
    schedule = ReleaseSchedule(window_days=settings.quota_window_days, release_time=settings.quota_release_time)
    horizon = settings.quota_dedupe_horizon_seconds
    window = draw_window(settings)
    draws = None
    if window is not None:
        key = _key_bytes(settings.quota_draw_key or data_key(settings.data_dir, "draw.key"))
        draws = DrawDesk(window, seeds_from_key(key), schedule)
    app = QuotaApplication(
        env=store_env(settings, "quota"),
        schedule=schedule,
        horizon=dt.timedelta(seconds=horizon) if horizon else None,
        snapshot_every=settings.quota_snapshot_interval,
        draws=draws,
    )
    app.hold = dt.timedelta(seconds=settings.quota_hold_seconds)
    return app


def partition_of_event(partitions: int, event: Any) -> int:
    """The partition a stored quota event belongs to (a session's by its office; a partition's own events)."""
    if isinstance(event, Partition.Event):
        return int(getattr(event, "partition"))  # noqa: B009  (every event of a Partition names it)
    return partition_of(event.office, partitions)


async def tick_draws(worker: QuotaWorker, offices: Callable[[], Sequence[str]], every: float) -> None:
    """Commit and close the draws of the offices it decides by the clock, every `every` seconds (and after a restart)."""
    while True:
        try:
            await worker.tick(offices())
        except Exception:  # a failed save (a raced writer, the store away): the next tick tries again
            log.exception("quota: the release draws' tick failed; trying again in %.1f s", every)
        await asyncio.sleep(every)


async def compact_now_and_then(app: QuotaApplication, runtime: Runtime, every: float) -> None:
    """Forget old refused ids in the cached sessions, on the writer, every `every` seconds."""
    loop = asyncio.get_running_loop()
    while True:
        await asyncio.sleep(every)
        forgotten = await loop.run_in_executor(runtime.writer, app.compact, utcnow())
        if forgotten:
            log.info("quota: forgot %d refused ids older than the dedupe horizon", forgotten)


async def run(settings: QuotaSettings | None = None) -> None:
    """Run a quota worker until stopped."""
    settings = settings or QuotaSettings()
    owned = settings.owned()
    runtime = Runtime("quota", settings)
    app = build_application(settings)
    app.ownership = Ownership(
        app, settings.partitions, enforced=settings.quota_leases, snapshot_every=settings.quota_snapshot_interval
    )
    js = await runtime.start()
    # Workers owning other partitions write the same store: each relay publishes its own partitions.
    scope = Scope(frozenset(owned), settings.partitions, functools.partial(partition_of_event, settings.partitions))
    relay = runtime.relay(app, functools.partial(to_wire, partitions=settings.partitions), scope)
    worker = QuotaWorker(
        app,
        runtime.writer,
        relay.wake,
        crash=CrashPoint(settings.quota_fault_crash_after_decisions),
        partition_of=lambda office: partition_of(office, settings.partitions),
    )
    await worker.open_read_model(js, owned)  # and rebuilt from the store when a disaster wiped it
    metrics = QuotaMetrics()
    metrics.unmatched.set_function(lambda: app.ownership.unmatched)
    if settings.quota_metrics_port:
        metrics.serve(settings.quota_metrics_port)

    def decides(office: str) -> bool:  # an owned partition, and its lease held (when leases are on)
        partition = partition_of(office, settings.partitions)
        return partition in owned and app.ownership.owns(partition)

    holds = HoldDesk(worker, decides)
    await holds.start()  # the holds of a worker killed before: they lapse on time all the same
    if settings.quota_leases:  # each partition's consumer runs while its lease is held
        kv = await open_leases(js, settings.lease_terms(), settings.stream_replicas)
        leases = PartitionLeases(
            runtime, worker, kv, settings.lease_terms(), settings.partitions, settings.quota_batch_size
        )
        leases.on_change = metrics.lease_changed
        leases.start(owned)
    else:
        for partition in owned:
            consumer = runtime.consumer(consumer_spec(partition, settings.quota_batch_size), worker.handle_batch)
            runtime.spawn(consumer.run(), f"quota-p{partition:02d}")
    runtime.spawn(relay.run(), "relay")
    if app.draws is not None:
        codes = [o.code for o in load_offices()]
        runtime.spawn(
            tick_draws(worker, lambda: [c for c in codes if decides(c)], settings.quota_draw_tick_seconds), "draws"
        )
    if app.horizon is not None:
        runtime.spawn(compact_now_and_then(app, runtime, min(60.0, app.horizon.total_seconds())), "compact")
    runtime.spawn(holds.tick_forever(settings.quota_hold_tick_seconds), "holds")
    worker.register(runtime.broker, owned, settings.quota_fast_path_concurrency)
    holds.register(runtime.broker, owned)
    OutcomeReplays(relay, app, runtime.writer, lambda p: worker.holds(p)).register(runtime.broker, owned)
    runtime.on_stop.append(app.close)
    await runtime.serve()


def main() -> None:
    asyncio.run(run())
