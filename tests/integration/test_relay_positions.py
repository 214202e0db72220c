"""A relay whose position cannot be stored for a moment (a NATS node lost, a leader being elected) goes on.

Found by `paspor chaos`: a booking service stopped (exit 1) when, idle, its relay's position could not
be put in the key-value bucket (`NoStreamResponseError`) while a NATS node was down.
"""

from __future__ import annotations

import asyncio
import functools
import uuid
from concurrent.futures import ThreadPoolExecutor

import nats
from nats.js.errors import NoStreamResponseError
from support import NOW, bookable_day

from paspor.natsserver import NatsServer
from services.quota.application import QuotaApplication
from services.quota.wire import to_wire
from shared.events import BookingRequested, Slot
from shared.runtime.bus import ensure_streams
from shared.runtime.relay import Relay


class FlakyBucket:
    """The relay's bucket, refusing `failures` puts once `failing` is set, as JetStream does while it has no leader."""

    def __init__(self, bucket, failures: int) -> None:  # noqa: ANN001
        self.bucket, self.failures, self.refused, self.failing = bucket, failures, 0, False

    async def put(self, key: str, value: bytes) -> int:
        if self.failing and self.refused < self.failures:
            self.refused += 1
            raise NoStreamResponseError
        return await self.bucket.put(key, value)

    async def get(self, key: str):  # noqa: ANN201
        return await self.bucket.get(key)


async def test_an_idle_relay_that_cannot_store_its_position_goes_on_and_stores_it_once_nats_takes_it(
    nats_server: NatsServer,
):
    app = QuotaApplication(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    app.on_recorded = None
    nc = await nats.connect(nats_server.url)
    js = nc.jetstream()
    await ensure_streams(js)
    with ThreadPoolExecutor(1) as writer:
        relay = Relay("quota", app, js, functools.partial(to_wire, partitions=8), writer, idle_wait=0.05)
        running = asyncio.create_task(relay.run())
        while relay._kv is None:
            await asyncio.sleep(0.01)
        bucket = relay._kv = FlakyBucket(relay._kv, failures=5)
        slot = Slot(office="GRESIK", date=bookable_day(5), session="pagi")
        request = lambda: BookingRequested(booking_id=uuid.uuid4(), slot=slot, applicants=1)  # noqa: E731
        app.apply_batch([request()], NOW)
        relay.wake()
        while relay._saved_position == 0:  # the first batch is published and its position stored
            await asyncio.sleep(0.01)
        bucket.failing = True  # a NATS node is lost: the next batch is published, its position not stored
        app.apply_batch([request()], NOW)
        relay.wake()
        for _ in range(200):
            if bucket.refused == 5 and relay._saved_position == relay.position > 0 or running.done():
                break
            await asyncio.sleep(0.05)
        assert not running.done(), running.exception() if running.done() else None
        stored = int((await bucket.get("quota")).value.decode())
        running.cancel()
    await nc.close()

    assert bucket.refused == 5, "every refusal was met, the relay kept going"
    assert stored == relay.position > 0, "and the position was stored once NATS took it"
