"""A partition's stored decisions published again on request (`paspor rebuild outcomes`), and only that partition's.

The booking service missed decisions (its stream purged): the quota store still has them. The worker
that holds the partition moves its relay back and answers once everything through the store's end is
published again. They go without JetStream's dedupe id (the stream would drop them within its window),
so they reach the consumers, which ignore what they handled already.
"""

from __future__ import annotations

import asyncio
import functools
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import nats
from support import NOW, bookable_day, until

from paspor.natsserver import NatsServer
from services.quota.application import QuotaApplication
from services.quota.replay import OutcomeReplays
from services.quota.wire import to_wire
from shared.events import BookingRequested, RebuildOutcomes, Slot, partition_of
from shared.offices import load_offices
from shared.runtime.bus import ensure_streams
from shared.runtime.relay import Relay, Scope

PARTITIONS = 8


def office_in(partition: int) -> str:
    return next(o.code for o in load_offices() if partition_of(o.code, PARTITIONS) == partition)


def requests(office: str, count: int) -> list[BookingRequested]:
    slot = Slot(office=office, date=bookable_day(5), session="pagi")
    return [BookingRequested(booking_id=uuid.uuid4(), slot=slot, applicants=1) for _ in range(count)]


class Sent:
    """What reaches the quota subjects (`paspor.quota.pNN.<verb>`), by partition, and with or without a dedupe id."""

    def __init__(self) -> None:
        self.by_partition: Counter[str] = Counter()
        self.without_id = 0

    async def watch(self, nc: nats.NATS) -> None:
        async def seen(msg) -> None:  # noqa: ANN001
            self.by_partition[msg.subject.split(".")[2]] += 1
            self.without_id += not (msg.headers or {}).get("Nats-Msg-Id")

        self.subscription = await nc.subscribe("paspor.quota.>", cb=seen)


async def test_a_partitions_decisions_are_published_again_and_reach_the_stream_within_its_dedupe_window(
    nats_server: NatsServer,
):
    store = QuotaApplication(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    nc = await nats.connect(nats_server.url)
    js = nc.jetstream()
    await ensure_streams(js)
    mine, other = office_in(2), office_in(5)
    scope = Scope(frozenset({2, 5}), PARTITIONS, lambda event: partition_of(event.office, PARTITIONS))
    with ThreadPoolExecutor(1) as writer:
        relay = Relay("quota", store, js, functools.partial(to_wire, partitions=PARTITIONS), writer, scope=scope)
        running = asyncio.create_task(relay.run())
        holding = {2}
        replays = OutcomeReplays(relay, store, writer, holds=lambda partition: partition in holding)
        for batch in (requests(mine, 3), requests(other, 2), requests(mine, 1)):  # three saves, three decisions
            store.apply_batch(batch, NOW)
            relay.wake()
        head = store.recorder.max_notification_id()
        await until(lambda: relay.caught_up(head), 10, "the relay published the store")
        stream_before = (await js.stream_info("PASPOR_QUOTA")).state.messages
        await js.purge_stream("PASPOR_QUOTA")  # what the booking service would have read is gone
        sent = Sent()
        await sent.watch(nc)

        answer = await replays.replay(2, RebuildOutcomes(operator="ops@kanim"))
        await nc.flush()
        stream_after = (await js.stream_info("PASPOR_QUOTA")).state.messages
        later = await replays.replay(2, RebuildOutcomes(operator="ops@kanim", after=head))
        refused = await replays.replay(5, RebuildOutcomes(operator="ops@kanim"))
        await nc.flush()
        await sent.subscription.unsubscribe()  # what follows sends partition 2's decisions once more
        impatient = OutcomeReplays(relay, store, writer, holds=lambda partition: True, wait_seconds=0)
        unfinished = await impatient.replay(2, RebuildOutcomes(operator="ops@kanim"))
        await until(lambda: relay.caught_up(head), 10, "it goes on publishing after the answer")
        running.cancel()
    await nc.close()

    assert answer["republished"]["through"] == head
    assert answer["republished"]["events"] >= 2, "the partition's stored events (each save of its session)"
    assert stream_before == 3 and stream_after == sum(sent.by_partition.values()) == 2, (
        "partition 2's two decisions are in the stream again, although sent within its dedupe window"
    )
    assert sent.without_id == sum(sent.by_partition.values()) > 0, "sent again without a dedupe id"
    assert set(sent.by_partition) == {"p02"}, f"only partition 2's, never {other}'s (p05): {dict(sent.by_partition)}"
    assert later == {"republished": {"partition": 2, "events": 0, "through": head, "seconds": 0.0}}, (
        "nothing stored after the end: nothing to publish"
    )
    assert refused["problem"]["code"] == "partition_not_held", "a worker not holding the partition refuses"
    assert unfinished["problem"]["code"] == "still_publishing", "an answer that cannot wait says so"
