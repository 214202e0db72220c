"""Quota workers that split the partitions share one store: each relay publishes its own partitions, once."""

from __future__ import annotations

import functools
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import nats
from support import bookable_day, until

from paspor.natsserver import NatsServer
from services.quota.application import QuotaApplication
from services.quota.wire import to_wire
from shared.events import BookingRequested, Slot, partition_of, utcnow
from shared.offices import load_offices
from shared.runtime.bus import ensure_streams
from shared.runtime.relay import Relay, Scope

PARTITIONS = 8
LOW, HIGH = frozenset(range(4)), frozenset(range(4, 8))


def offices_in(partitions: frozenset[int], count: int) -> list[str]:
    return [o.code for o in load_offices() if partition_of(o.code, PARTITIONS) in partitions][:count]


def requests_for(offices: list[str], per_session: int) -> list[BookingRequested]:
    day = bookable_day(5)
    return [
        BookingRequested(booking_id=uuid.uuid4(), slot=Slot(office=office, date=day, session=session), applicants=1)
        for office in offices
        for session in ("pagi", "siang")
        for _ in range(per_session)
    ]


class Published:
    """Every message published on the quota subjects, duplicates included (core NATS sees each send)."""

    def __init__(self) -> None:
        self.ids: Counter[str] = Counter()

    async def watch(self, nc: nats.NATS) -> None:
        async def seen(msg) -> None:  # noqa: ANN001
            self.ids[msg.headers["Nats-Msg-Id"]] += 1

        self.subscription = await nc.subscribe("paspor.quota.>", cb=seen)
        self.nc = nc

    async def everything_sent_so_far(self) -> dict[str, int]:
        """The count once every send made before this call was delivered and counted.

        The relays publish on our connection: after a round trip to the server (flush), every one of
        their messages has been delivered to us; then we wait until each delivered message is counted.
        """
        await self.nc.flush()
        await until(lambda: self.subscription.delivered == self.ids.total(), 10, "every delivered message counted")
        return dict(self.ids)


async def drain(*relays: Relay) -> None:
    for relay in relays:
        await relay.open()
        while await relay.publish_pending():
            pass


async def test_two_workers_publish_each_stored_decision_once_and_a_new_owner_goes_on_from_their_positions(
    nats_server: NatsServer,
):
    store = QuotaApplication(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    nc = await nats.connect(nats_server.url)
    js = nc.jetstream()
    await ensure_streams(js)
    published = Published()
    await published.watch(nc)
    wire = functools.partial(to_wire, partitions=PARTITIONS)

    def relay(owned: frozenset[int]) -> Relay:
        scope = Scope(owned, PARTITIONS, lambda event: partition_of(event.office, PARTITIONS))
        return Relay("quota", store, js, wire, executor, scope=scope)

    with ThreadPoolExecutor(1) as executor:
        # Two workers, one store: the low partitions' worker and the high partitions' worker decided.
        store.apply_batch(requests_for(offices_in(LOW, 2) + offices_in(HIGH, 2), per_session=3), utcnow())
        low, high = relay(LOW), relay(HIGH)
        await drain(low, high)
        first = await published.everything_sent_so_far()
        assert len(first) == 8, "one SlotsDecided per session (4 offices x 2 sessions)"
        assert set(first.values()) == {1}, "and each was sent once, by its partition's relay"
        assert low.published == high.published == 4

        # Later a single worker takes every partition over (after a restart with a new assignment).
        store.apply_batch(requests_for(offices_in(LOW, 1) + offices_in(HIGH, 1), per_session=2), utcnow())
        everything = relay(LOW | HIGH)
        await drain(everything)
        sent = await published.everything_sent_so_far()
    await nc.close()
    assert len(sent) == 8 + 4, "it published only what was new"
    assert set(sent.values()) == {1}, "nothing the earlier owners had sent was sent again"
    assert everything.positions == {p: everything.position for p in range(8)}
