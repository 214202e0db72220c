"""The partitions a quota application owns, and the fence each of its saves extends (run on the writer).

`Ownership` is the application's guard: before a save it checks that every touched session's
partition is owned and adds that partition's `Kept` (so the save is refused whole if a newer owner
took it); after a failed save it reloads the partitions from the store and drops those another
worker took. Taking a partition drops every cached session of it, so the new owner decides from the
store, not from what it remembered of an earlier ownership.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from eventsourcing.application import AggregateNotFoundError

from shared.events import BookingCancelled, partition_of
from shared.runtime.lease import LeaseLost
from shared.runtime.store import cached, evict

from .domain import SessionQuota
from .draw import ReleaseDraw
from .fence import Fenced, Partition

log = logging.getLogger(__name__)


class NotOwner(LeaseLost):
    """A decision for a partition whose lease this worker does not hold."""

    def __init__(self, partition: int) -> None:
        super().__init__(f"this worker does not own partition {partition} (no lease)")
        self.partition = partition


class Ownership:
    """Which partitions an application may decide (`enforced`), and at which epoch it owns each."""

    def __init__(self, app: Any, partitions: int, *, enforced: bool = True, snapshot_every: int = 100) -> None:
        self.app, self.partitions, self.enforced = app, partitions, enforced
        self.owned: dict[int, Partition] = {}
        self.epochs: dict[int, int] = {}
        self.unmatched = 0  # cancellations that found nothing to release, for tests and metrics
        self._records: dict[int, Partition] = {}  # partitions with a record to save in the next save
        self._dirty: set[int] = set()  # fences a failed save left ahead of the store
        if snapshot_every and app.snapshots is not None:
            app.snapshot_every[Partition] = snapshot_every  # each save adds a `Kept`: load from a snapshot

    def partition_of(self, office: str) -> int:
        return partition_of(office, self.partitions)

    def take(self, partition: int, worker: str, lease_revision: int) -> int:
        """Become the owner of a partition (its lease is held): a new epoch; its cached sessions dropped."""
        fence = self._load(partition) or Partition(partition, self.partitions)
        epoch = fence.take(worker, lease_revision)
        self.app.save(fence)
        self.owned[partition], self.epochs[partition] = fence, epoch
        self.forget_sessions(partition)
        log.info("quota: partition %d taken at epoch %d (lease revision %d)", partition, epoch, lease_revision)
        return epoch

    def let_go(self, partition: int) -> None:
        """The lease is lost: decide nothing more for the partition and forget its sessions."""
        self.owned.pop(partition, None)
        self._dirty.discard(partition)
        self.forget_sessions(partition)

    def forget_sessions(self, partition: int) -> None:
        stale = [
            q.id for q in cached(self.app) if isinstance(q, SessionQuota) and self.partition_of(q.office) == partition
        ]
        evict(self.app, stale)

    def owns(self, partition: int) -> bool:
        return not self.enforced or partition in self.owned

    def fences_for(self, changed: Sequence[Any]) -> list[Partition]:
        """The partitions' fences to save with `changed` (NotOwner or Fenced if one is not ours)."""
        touched = sorted({self.partition_of(q.office) for q in changed if isinstance(q, (SessionQuota, ReleaseDraw))})
        fences: dict[int, Partition] = dict(self._records)
        self._records = {}
        try:
            if self.enforced:
                fences |= {partition: self._owned(partition) for partition in touched}  # all checked first
                for partition in touched:
                    fences[partition].keep(self.epochs[partition])
        except BaseException:
            self.failed(list(fences.values()))  # a record made meanwhile put them ahead of the store
            raise
        return list(fences.values())

    def _owned(self, partition: int) -> Partition:
        """The partition's fence as stored (reloaded after a failed save); NotOwner or Fenced if not ours."""
        if partition not in self.owned:
            raise NotOwner(partition)
        if partition in self._dirty:
            stored = self._load(partition)
            if stored is None or stored.epoch != self.epochs[partition]:
                log.error("quota: partition %d was taken by %s: letting it go", partition, stored and stored.owner)
                self.let_go(partition)
                raise Fenced(partition, self.epochs[partition], stored.epoch if stored else 0)
            self.owned[partition] = stored
            self._dirty.discard(partition)
        return self.owned[partition]

    def failed(self, fences: Sequence[Partition]) -> None:
        """A save failed: its fences are ahead of the store, so each is reloaded before it is used again."""
        self._records = {}
        self._dirty.update(f.partition for f in fences)
        evict(self.app, [f.id for f in fences])

    def nothing_released(self, message: BookingCancelled) -> None:
        """Record (with the next save) a cancellation that found no slot to release, even in the store."""
        slot = message.slot
        partition = self.partition_of(slot.office)
        owned = self.owned.get(partition) if partition not in self._dirty else None
        fence = self._records.get(partition) or owned or self._load(partition)
        fence = fence or Partition(partition, self.partitions)
        key = (slot.office, slot.date.isoformat(), slot.session.value)
        if not fence.nothing_released(
            str(message.booking_id), key, str(message.correlation_id), str(message.message_id)
        ):
            return  # a copy of a cancellation recorded before
        self._records[partition] = fence
        self.unmatched += 1
        log.warning(
            "quota: cancellation of %s (%s %s %s) found no slot to release, in the cache or the store; recorded",
            message.booking_id,
            *key,
        )

    def _load(self, partition: int) -> Partition | None:
        partition_id = Partition.id_for(partition, self.partitions)
        evict(self.app, [partition_id])  # what the store holds, not what this worker remembers
        try:
            fence: Partition = self.app.repository.get(partition_id)
        except AggregateNotFoundError:
            return None
        return fence
