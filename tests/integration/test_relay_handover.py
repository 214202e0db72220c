"""The outbox relay takes what each save recorded straight from the writer, and never sleeps on a stored event."""

from __future__ import annotations

import asyncio
import functools
import uuid
from concurrent.futures import ThreadPoolExecutor

import nats
import pytest
from support import NOW, bookable_day

from paspor.natsserver import NatsServer
from services.quota.application import QuotaApplication
from services.quota.wire import to_wire
from shared.events import BookingRequested, Slot
from shared.runtime.bus import ensure_streams
from shared.runtime.relay import Relay


def requests(count: int, session: str = "pagi") -> list[BookingRequested]:
    slot = Slot(office="GRESIK", date=bookable_day(5), session=session)
    return [BookingRequested(booking_id=uuid.uuid4(), slot=slot, applicants=1) for _ in range(count)]


async def decisions_seen(nc: nats.NATS) -> list[str]:
    seen: list[str] = []

    async def add(msg) -> None:  # noqa: ANN001
        seen.append(msg.headers["Nats-Msg-Id"])

    await nc.subscribe("paspor.quota.>", cb=add)
    return seen


async def wait_until(predicate, timeout: float, what: str) -> None:  # noqa: ANN001
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        if asyncio.get_running_loop().time() > deadline:
            pytest.fail(f"not within {timeout} s: {what}")
        await asyncio.sleep(0.01)


class Outbox:
    """A quota store, a connection with the streams declared, and every decision published on it."""

    async def open(self, url: str) -> Outbox:
        self.app = QuotaApplication(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
        self.nc = await nats.connect(url)
        self.js = self.nc.jetstream()
        await ensure_streams(self.js)
        self.seen = await decisions_seen(self.nc)
        return self


async def test_saves_are_published_from_what_the_writer_handed_over_without_reading_the_log(nats_server: NatsServer):
    outbox = await Outbox().open(nats_server.url)
    app, nc, js, seen = outbox.app, outbox.nc, outbox.js, outbox.seen
    with ThreadPoolExecutor(1) as writer:
        # Idle, it would look only after 30 s: only a wake-up can make it publish in time.
        relay = Relay("quota", app, js, functools.partial(to_wire, partitions=8), writer, idle_wait=30.0)
        running = asyncio.create_task(relay.run())
        await wait_until(lambda: relay.log_reads == 1, 10, "the relay's first look at the log (catching up)")
        for batch in range(40):  # saves that land at every moment of the relay's cycle
            app.apply_batch(requests(3, ("pagi", "siang")[batch % 2]), NOW)
            relay.wake()
            await asyncio.sleep(0.003 * (batch % 4))
        await wait_until(lambda: len(seen) == 40, 5, "every decision published without the 30 s idle wait")
        running.cancel()
        await asyncio.gather(running, return_exceptions=True)
    await nc.close()
    assert relay.log_reads == 1, "after catching up, the relay published only what the writer handed over"
    assert len(set(seen)) == 40


async def test_a_gap_in_what_was_handed_over_is_filled_from_the_log(nats_server: NatsServer):
    outbox = await Outbox().open(nats_server.url)
    app, nc, js, seen = outbox.app, outbox.nc, outbox.js, outbox.seen
    with ThreadPoolExecutor(1) as writer:
        relay = Relay("quota", app, js, functools.partial(to_wire, partitions=8), writer)
        await relay.open()
        app.on_recorded = None  # as if another process wrote these: nothing is handed over
        app.apply_batch(requests(2), NOW)
        app.on_recorded = relay.hand_over
        app.apply_batch(requests(2, "siang"), NOW)  # handed over, but after a gap
        while await relay.publish_pending(read_log=False):
            pass
    await wait_until(lambda: len(seen) == 2, 5, "both sessions' decisions published")
    await nc.close()
    assert relay.log_reads >= 1 and relay.position == app.recorder.max_notification_id()
