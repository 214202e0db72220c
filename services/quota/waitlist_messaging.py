"""The waitlist on the wire: accepting a hold (the booking service asks), and the tick that lapses holds."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence

from faststream.nats import NatsBroker

from shared.events import Commands
from shared.events.waitlist import AcceptHold
from shared.offices import UnknownOffice
from shared.runtime.replies import problem, serve

from .holds import accept_hold, find_waitlists, settle_due
from .messaging import QuotaWorker
from .waitlist import NoActiveHold

log = logging.getLogger(__name__)


class HoldDesk:
    """Holds of the partitions one worker owns: found in the store at start, lapsed on a tick, accepted on request.

    Every change runs on the worker's single writer thread, between its batches, and is published
    like a batch's (the read model, then the relay).
    """

    def __init__(self, worker: QuotaWorker, owned: Callable[[str], bool]) -> None:
        self.worker, self.app, self.owned = worker, worker.app, owned

    async def start(self) -> int:
        """Find the sessions with a waitlist in the store (a restart), and settle what fell due meanwhile."""
        found = await self.worker._write(find_waitlists, self.app)
        self.app.holding |= found
        await self.tick()
        return len(found)

    async def tick(self) -> None:
        """Lapse the holds whose deadline the clock reached, and offer their places on; publish the changes."""
        changed = await self.worker._write(settle_due, self.app, self.worker.clock(), self.owned)
        if changed:
            await self.worker._published(changed)

    async def tick_forever(self, every: float) -> None:
        while True:
            await asyncio.sleep(every)
            try:
                await self.tick()
            except Exception:  # a store that failed or a racing writer: the next tick decides again from the store
                log.exception("quota: settling the holds failed; trying again on the next tick")

    def register(self, broker: NatsBroker, partitions: Sequence[int]) -> None:
        for partition in partitions:
            serve(broker, Commands.ACCEPT_HOLD.format(partition=partition), AcceptHold, self._accept, queue="quota")

    async def _accept(self, command: AcceptHold) -> dict:
        booking_id = str(command.booking_id)
        try:
            answer = await self.worker._write(accept_hold, self.app, command.slot, booking_id, self.worker.clock())
        except NoActiveHold:
            return problem(
                "no_active_hold",
                "Tidak ada tawaran aktif untuk pemesanan ini.",
                "This booking holds no active offer (not offered yet, accepted, or lapsed).",
            )
        except UnknownOffice:
            return problem("unknown_office", f"Kantor {command.slot.office} tidak dikenal.", "Unknown office.")
        await self.worker._published([self.app.session_of(command.slot)])
        return {"decision": answer.model_dump(mode="json")}
