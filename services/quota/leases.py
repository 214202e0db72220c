"""Exclusive partition ownership: a quota worker consumes and answers for a partition only while it holds its lease.

For each partition it is configured for, the worker waits for the partition's lease (key `quota-pNNofM`
of the bucket `paspor_leases`, whose entries expire after `PASPOR_QUOTA_LEASE_TTL_SECONDS`), then takes
the partition in the store (a new epoch: services/quota/fencing.py, its cached sessions dropped),
starts the partition's consumer and renews the lease every `PASPOR_QUOTA_LEASE_RENEW_SECONDS`. When a
renewal fails it stops the consumer, gives back the batch in hand, and waits again; the fast path and
the operators' commands of that partition are refused meanwhile (docs/adr/0009-partition-leases.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import Callable
from typing import Any

from nats.js import JetStreamContext
from nats.js.errors import BadRequestError
from nats.js.kv import KeyValue

from shared.events import Message
from shared.runtime.bus import patiently
from shared.runtime.consumer import BatchConsumer
from shared.runtime.lease import LEASE_BUCKET, Lease, LeaseKeeper, LeaseLost, LeaseTerms, hold_forever, worker_name
from shared.runtime.service import Runtime

from .fencing import NotOwner
from .messaging import QuotaWorker, consumer_spec

STOP_GRACE = 5.0  # seconds a consumer has to finish its batch when the lease is lost, before it is cancelled
log = logging.getLogger(__name__)


def lease_key(partition: int, partitions: int) -> str:
    return f"quota-p{partition:02d}of{partitions}"


async def open_leases(js: JetStreamContext, terms: LeaseTerms, replicas: int = 1) -> KeyValue:
    """The lease bucket, its entries expiring after the TTL (created, or its TTL brought up to date)."""
    try:
        await patiently(lambda: js.create_key_value(bucket=LEASE_BUCKET, history=1, ttl=terms.ttl, replicas=replicas))
    except BadRequestError:  # it exists: keep its replicas, make its TTL ours
        info = await js.stream_info(f"KV_{LEASE_BUCKET}")
        if info.config.max_age != terms.ttl:
            info.config.max_age = terms.ttl
            await js.update_stream(info.config)
    return await patiently(lambda: js.key_value(LEASE_BUCKET))


class PartitionLeases:
    """Holds the leases of a worker's partitions and runs each partition's consumer while its lease is held."""

    def __init__(
        self, runtime: Runtime, worker: QuotaWorker, kv: Any, terms: LeaseTerms, partitions: int, batch: int
    ) -> None:
        self.runtime, self.worker, self.partitions, self.batch = runtime, worker, partitions, batch
        self.keeper = LeaseKeeper(kv, terms, worker_name())
        self.consumers: dict[int, tuple[BatchConsumer, asyncio.Task[None]]] = {}
        self.epochs: dict[int, int] = {}
        self.on_change: Callable[[int, str, int], None] = lambda partition, state, epoch: None  # metrics
        worker.holds = self.holds

    def start(self, owned: list[int]) -> None:
        """One task per partition: wait for its lease, hold it, start over when it is lost."""
        for partition in owned:
            key = lease_key(partition, self.partitions)
            taken = functools.partial(self._taken, partition)
            lost = functools.partial(self._lost, partition)
            self.on_change(partition, "waiting", 0)
            self.runtime.spawn(hold_forever(self.keeper, key, taken, lost), f"lease-p{partition:02d}")

    def holds(self, partition: int) -> bool:
        """The lease is held (and not past its time) and the partition taken in the store."""
        return self.keeper.still_held(lease_key(partition, self.partitions)) and partition in self.epochs

    async def _taken(self, partition: int, lease: Lease) -> dict[str, object]:
        ownership = self.worker.app.ownership
        epoch = await self.worker.on_writer(ownership.take, partition, self.keeper.worker, lease.revision)
        self.epochs[partition] = epoch
        self.worker.forget_shown(partition)
        consumer = self.runtime.consumer(
            consumer_spec(partition, self.batch), functools.partial(self._handle, partition)
        )
        task = self.runtime.spawn(consumer.run(), f"quota-p{partition:02d}")
        self.consumers[partition] = (consumer, task)
        self.on_change(partition, "held", epoch)
        log.info("quota: deciding partition %d (epoch %d)", partition, epoch)
        return {"epoch": epoch}

    async def _handle(self, partition: int, messages: list[Message]) -> None:
        if not self.holds(partition):
            raise NotOwner(partition)
        try:
            await self.worker.handle_batch(messages)
        except LeaseLost:
            if partition not in self.worker.app.ownership.owned:  # fenced: the store has another owner
                self.keeper.drop(lease_key(partition, self.partitions), "the store's fence names another owner")
            raise

    async def _lost(self, partition: int) -> None:
        """Decide nothing more for the partition: its consumer gives back what it holds; its sessions are forgotten."""
        self.epochs.pop(partition, None)
        self.on_change(partition, "waiting", 0)
        running = self.consumers.pop(partition, None)
        if running is not None:
            consumer, task = running
            consumer.stop()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(consumer.stopped.wait()), STOP_GRACE)
            if not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        await self.worker.on_writer(self.worker.app.ownership.let_go, partition)
        log.error("quota: partition %d no longer decided here (lease lost); waiting for it again", partition)
