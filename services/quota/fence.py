"""A quota partition in the event store: who owns it (its epochs), the fence every save extends.

Pure domain: no I/O. Leases (NATS KV, `shared/runtime/lease.py`) say which worker should decide a
partition; this aggregate is what makes a worker that lost its lease unable to save. An owner
records `Taken` when it takes the lease (a new epoch), and every save it makes of the partition's
sessions carries one `Kept` of its epoch, at the partition's next version. A new owner's `Taken`
takes that version first, so the stale owner's save is refused whole by the event store's
optimistic concurrency (docs/adr/0009-partition-leases.md).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from shared.events import derived_id
from shared.runtime.lease import LeaseLost


class Fenced(LeaseLost):
    """Another worker took the partition since this one did: its decisions may not be saved."""

    def __init__(self, partition: int, mine: int, theirs: int) -> None:
        super().__init__(f"partition {partition} is owned at epoch {theirs}, not {mine}: a newer owner took it")
        self.partition = partition


class Partition(Aggregate):
    """One partition of the quota offices: its owners' epochs, and the cancellations it found nothing for."""

    if TYPE_CHECKING:
        Taken: ClassVar[type[Any]]
        Kept: ClassVar[type[Any]]
        NothingReleased: ClassVar[type[Any]]

    @staticmethod
    def id_for(partition: int, partitions: int) -> UUID:
        return derived_id("quota-partition", partition, partitions)

    @classmethod
    def create_id(cls, partition: int, partitions: int) -> UUID:
        return cls.id_for(partition, partitions)

    @event("Opened")
    def __init__(self, partition: int, partitions: int) -> None:
        self.partition, self.partitions = partition, partitions
        self.epoch = 0  # 0: never owned
        self.owner = ""
        # Cancellations recorded as having found nothing (rare); a dict: a snapshot's JSON keeps it as it is.
        self.unmatched: dict[str, str] = {}

    def take(self, worker: str, lease_revision: int) -> int:
        """A worker holding the partition's lease becomes its owner; its epoch."""
        self._taken(self.partition, worker, lease_revision)
        return self.epoch

    def keep(self, epoch: int) -> None:
        """One more save by the owner of `epoch`; Fenced if another worker took the partition since."""
        if epoch != self.epoch:
            raise Fenced(self.partition, epoch, self.epoch)
        self._kept(self.partition, epoch)

    def nothing_released(self, booking_id: str, slot: tuple[str, str, str], correlation_id: str, cause: str) -> bool:
        """Record a cancellation that held no slot in the store (never a silent no-op); False if recorded before."""
        if booking_id in self.unmatched:
            return False
        office, day, session = slot
        self._nothing_released(self.partition, booking_id, office, day, session, correlation_id, cause)
        return True

    @event("Taken")
    def _taken(self, partition: int, worker: str, lease_revision: int) -> None:
        self.epoch += 1
        self.owner = worker

    @event("Kept")
    def _kept(self, partition: int, epoch: int) -> None:
        pass

    @event("NothingReleased")
    def _nothing_released(
        self,
        partition: int,
        booking_id: str,
        office: str,
        day: str,
        session: str,
        correlation_id: str,
        causation_id: str,
    ) -> None:
        self.unmatched[booking_id] = causation_id
