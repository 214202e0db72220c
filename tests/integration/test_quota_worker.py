"""Quota workers against a real nats-server: races, duplicates, bad input, the read model."""

from __future__ import annotations

import asyncio
import json

import nats
import pytest
from quota_rush import assert_one_outcome_each, make_requests, publish, read_outcomes, start_worker, stop, wait_ready
from support import bookable_day

from shared.events import AVAILABILITY_BUCKET, SessionRemaining, Slot, availability_key
from shared.events.subjects import DEAD_LETTER_SUBJECT


def slots() -> list[Slot]:
    day = bookable_day(6)
    return [Slot(office="GRESIK", date=day, session="pagi"), Slot(office="GRESIK", date=day, session="siang")]


@pytest.mark.parametrize("store", ["sqlite", "postgres"])
def test_four_workers_racing_on_one_partition_never_overbook_nor_double_reserve(nats_server, tmp_path, request, store):
    sessions = slots()
    requests = make_requests(sessions, per_slot=160)
    # Leases off: the event store's optimistic concurrency alone must keep the racers safe (with
    # leases, one would decide and three stand by: tests/integration/test_quota_leases.py).
    env = {"PASPOR_QUOTA_BATCH_SIZE": "20", "PASPOR_EVENT_STORE": store, "PASPOR_QUOTA_LEASES": "false"}
    if store == "postgres":
        env["PASPOR_POSTGRES_URL"] = request.getfixturevalue("fresh_postgres")
    # Misconfigured on purpose: four owners of every partition, small batches to interleave.
    workers = [start_worker(nats_server.url, tmp_path, **env) for _ in range(4)]
    try:
        wait_ready(workers)
        asyncio.run(publish(nats_server.url, requests, duplicates=True))
        outcomes = asyncio.run(read_outcomes(nats_server.url, expected=len(requests)))
    finally:
        stop(workers)
    assert_one_outcome_each(outcomes, requests)
    for numbers in outcomes.numbers_by_session().values():
        assert sorted(numbers) == list(range(1, 101))
    assert len(outcomes.reserved()) == 200


def test_a_message_that_cannot_be_read_is_dead_lettered_and_the_worker_goes_on(nats_server, tmp_path):
    worker = start_worker(nats_server.url, tmp_path)
    requests = make_requests(slots()[:1], per_slot=3)

    async def scenario() -> list[dict]:
        nc = await nats.connect(nats_server.url)
        js = nc.jetstream()
        sub = await nc.subscribe(DEAD_LETTER_SUBJECT.format(service="quota"))
        await publish(nats_server.url, requests[:1])
        await js.publish("paspor.booking.p06.requested", b'{"type": "BookingRequested", "booking_id": "nope"}')
        await js.publish("paspor.booking.p06.requested", b"not json at all")
        await publish(nats_server.url, requests[1:])
        letters = [json.loads((await sub.next_msg(timeout=30)).data) for _ in range(2)]
        await nc.close()
        return letters

    try:
        letters = asyncio.run(scenario())
        outcomes = asyncio.run(read_outcomes(nats_server.url, expected=3))
    finally:
        stop([worker])
    assert [letter["reason"].split(":")[0] for letter in letters] == ["invalid message", "invalid message"]
    assert "not JSON" in letters[1]["reason"]
    assert_one_outcome_each(outcomes, requests)
    assert len(outcomes.reserved()) == 3, "the good requests around the bad ones were all decided"


def test_the_availability_read_model_is_current_after_every_batch(nats_server, tmp_path):
    session = slots()[0]
    worker = start_worker(nats_server.url, tmp_path)
    requests = make_requests([session], per_slot=120)

    async def entry() -> SessionRemaining:
        nc = await nats.connect(nats_server.url)
        kv = await nc.jetstream().key_value(AVAILABILITY_BUCKET)
        for _ in range(50):  # the worker writes it before it publishes the outcomes; allow a moment
            value = SessionRemaining.model_validate_json(
                (await kv.get(availability_key(session.office, session.date, session.session))).value
            )
            if value.booked == 100:
                break
            await asyncio.sleep(0.1)
        await nc.close()
        return value

    try:
        asyncio.run(publish(nats_server.url, requests))
        asyncio.run(read_outcomes(nats_server.url, expected=len(requests)))
        current = asyncio.run(entry())
    finally:
        stop([worker])
    assert current == SessionRemaining(capacity=100, booked=100, remaining=0, closed=False)
