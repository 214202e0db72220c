"""The outcomes put together again from the quota store: `paspor rebuild outcomes`.

Every booking's outcome is derived from a decision the quota store holds. If the booking service
missed some (a stream wiped or purged, a consumer reset past them, a restore of the booking store
from an older backup), the partition's owner publishes its stored events again from a position
(`Relay.rewind`), through the relay's ordinary path. The booking service applies what it lacks and
ignores the rest: a booking moves on only from a pending state, so an old confirmation does not
bring back a booking cancelled since (`services/booking/outcomes.py`).
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Executor
from typing import Any

from faststream.nats import NatsBroker

from shared.events import Commands, RebuildOutcomes
from shared.runtime.relay import Relay
from shared.runtime.replies import problem, serve

from .messaging import not_owner

log = logging.getLogger(__name__)
WAIT_SECONDS = 600.0  # how long an answer waits for the relay to publish through the store's end


class OutcomeReplays:
    """Serves `paspor.cmd.quota.pNN.republish` for the partitions this worker owns."""

    def __init__(
        self,
        relay: Relay,
        store: Any,
        writer: Executor,
        holds: Callable[[int], bool],
        wait_seconds: float = WAIT_SECONDS,
    ) -> None:
        self.relay, self.store, self.writer, self.holds = relay, store, writer, holds
        self.wait_seconds = wait_seconds

    def register(self, broker: NatsBroker, partitions: Sequence[int]) -> None:
        for partition in partitions:
            subject = Commands.REBUILD_OUTCOMES.format(partition=partition)
            serve(broker, subject, RebuildOutcomes, functools.partial(self.replay, partition), queue="quota")

    async def replay(self, partition: int, command: RebuildOutcomes) -> dict:
        """Publish the partition's events stored after `command.after` again; answer once they all are."""
        if not self.holds(partition):
            return not_owner(partition)
        loop = asyncio.get_running_loop()
        head = await loop.run_in_executor(self.writer, self.store.recorder.max_notification_id) or 0
        if command.after >= head:
            return {"republished": {"partition": partition, "events": 0, "through": head, "seconds": 0.0}}
        log.warning(
            "quota: publishing partition %d's events after position %d again (through %d), asked by %s",
            partition,
            command.after,
            head,
            command.operator,
        )
        before, started = self.relay.counted[partition], time.monotonic()
        self.relay.rewind(partition, command.after)
        if not await self.relay.published_through(head, self.wait_seconds):
            return problem(
                "still_publishing",
                "Masih menerbitkan ulang; lihat log pekerja.",
                f"Still publishing (at position {self.relay.position} of {head}); it goes on: see the worker's log.",
            )
        return {
            "republished": {
                "partition": partition,
                "events": self.relay.counted[partition] - before,
                "through": head,
                "seconds": round(time.monotonic() - started, 3),
            }
        }
