"""A consumer keeps its whole batch through an outage, waits longer each time, and hands a backlog over in bounded saves."""

from __future__ import annotations

import asyncio
import uuid

import nats
from eventsourcing.persistence import OperationalError
from support import bookable_day

from paspor.natsserver import NatsServer
from shared.events import BookingRequested, Decision, Slot, SlotsDecided, subject_for
from shared.runtime.bus import ensure_streams
from shared.runtime.consumer import BatchConsumer, ConsumerSpec
from shared.runtime.service import cancel_all

SLOT = Slot(office="GRESIK", date=bookable_day(5), session="pagi")


def requested(count: int) -> list[BookingRequested]:
    return [BookingRequested(booking_id=uuid.uuid4(), slot=SLOT, applicants=1) for _ in range(count)]


async def test_an_outage_longer_than_the_ack_wait_keeps_the_whole_batch_with_its_consumer(nats_server: NatsServer):
    nc = await nats.connect(nats_server.url)
    try:
        js = nc.jetstream()
        await ensure_streams(js)
        spec = ConsumerSpec("PASPOR_BOOKING", "outage-test", ["paspor.booking.>"], batch=10, ack_wait=1.0)
        spec.backoff = (0.3, 0.6, 1.2, 2.4)
        store_down_for, handled, replica_got = [4], [], []

        async def flaky(messages):  # the store is down for four attempts (3.3 s, over three ack waits)
            if store_down_for[0]:
                store_down_for[0] -= 1
                raise OperationalError("database is locked")
            handled.extend(m.booking_id for m in messages)

        async def replica(messages):
            replica_got.extend(m.booking_id for m in messages)

        sent = requested(5)
        for message in sent:
            await js.publish(subject_for(message, SLOT.office), message.model_dump_json().encode())
        first = BatchConsumer(js, spec, flaky, "booking")
        task = asyncio.create_task(first.run())
        await asyncio.sleep(0.5)  # it holds the batch now; its twin starts fetching on the same durable
        twin = asyncio.create_task(BatchConsumer(js, spec, replica, "booking").run())
        for _ in range(100):
            if len(handled) == 5:
                break
            await asyncio.sleep(0.1)
        task.cancel()
        twin.cancel()
        await asyncio.gather(task, twin, return_exceptions=True)

        assert handled == [m.booking_id for m in sent], "handled once the store was back, all five, in order"
        assert replica_got == [], "no message's ack wait ran out: none went to the other replica"
        assert list(first.retry_delays) == [0.3, 0.6, 1.2, 2.4], "each wait longer than the one before"
    finally:
        await nc.close()


async def test_a_backlog_of_decisions_is_handed_over_in_bounded_saves(nats_server: NatsServer):
    nc = await nats.connect(nats_server.url)
    try:
        js = nc.jetstream()
        await ensure_streams(js)
        decisions = [
            Decision(
                booking_id=uuid.uuid4(),
                queue_number=n,
                remaining=100 - n,
                correlation_id=uuid.uuid4(),
                causation_id=uuid.uuid4(),
            )
            for n in range(1, 8)
        ]
        batch = SlotsDecided(slot=SLOT, decisions=decisions)
        await js.publish(subject_for(batch, SLOT.office), batch.model_dump_json().encode())
        spec = ConsumerSpec("PASPOR_QUOTA", "bounded-test", ["paspor.quota.>"], max_items=3)
        saves: list[int] = []

        async def save(messages):
            saves.append(len(messages))

        task = asyncio.create_task(BatchConsumer(js, spec, save, "booking").run())
        for _ in range(100):
            if sum(saves) == 7:
                break
            await asyncio.sleep(0.05)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)

        assert saves == [3, 3, 1], "seven decisions in one message, saved three at a time"
    finally:
        await nc.close()


async def test_a_backlog_of_large_messages_is_handed_over_in_saves_bounded_in_bytes(nats_server: NatsServer):
    nc = await nats.connect(nats_server.url)
    try:
        js = nc.jetstream()
        await ensure_streams(js)
        decided = [
            SlotsDecided(
                slot=SLOT,
                decisions=[
                    Decision(
                        booking_id=uuid.uuid4(),
                        queue_number=n,
                        remaining=100 - n,
                        correlation_id=uuid.uuid4(),
                        causation_id=uuid.uuid4(),
                    )
                    for n in range(1, 21)
                ],
            )
            for _ in range(3)
        ]
        sizes = [len(d.model_dump_json()) for d in decided]
        for batch in decided:
            await js.publish(subject_for(batch, SLOT.office), batch.model_dump_json().encode())
        # Few enough decisions for one save, too many bytes: about one message's worth per save.
        spec = ConsumerSpec(
            "PASPOR_QUOTA", "bytes-test", ["paspor.quota.>"], batch=10, max_items=1000, max_bytes=max(sizes) + 10
        )
        saves: list[int] = []

        async def save(messages):
            saves.append(len(messages))

        consumer = BatchConsumer(js, spec, save, "booking")
        task = asyncio.create_task(consumer.run())
        for _ in range(200):
            if sum(saves) == 60:
                break
            await asyncio.sleep(0.05)
        consumer.stop()  # (a bare cancel can be swallowed by nats-py's fetch: see service.cancel_all)
        await cancel_all([task])

        assert sum(saves) == 60, "every decision handed over"
        assert len(saves) >= 3 and max(saves) <= 21, f"no save above one message's bytes: {saves}"
    finally:
        await nc.close()
