"""The relay never stops on what it cannot publish: a poisoned stored event is dead-lettered, a huge batch is split."""

from __future__ import annotations

import asyncio
import functools
import json
import sqlite3
import uuid
from concurrent.futures import ThreadPoolExecutor

import nats
import pytest
from support import NOW, bookable_day

from paspor.natsserver import NatsServer
from services.quota.application import QuotaApplication
from services.quota.wire import to_wire
from shared.events import BookingRequested, DeadLetter, Slot
from shared.runtime.bus import ensure_streams
from shared.runtime.relay import Relay


def requests(count: int, session: str = "pagi") -> list[BookingRequested]:
    slot = Slot(office="GRESIK", date=bookable_day(5), session=session)
    return [BookingRequested(booking_id=uuid.uuid4(), slot=slot, applicants=1) for _ in range(count)]


async def collected(nc: nats.NATS, subject: str) -> list:
    seen: list = []

    async def add(msg) -> None:  # noqa: ANN001
        seen.append(msg)

    await nc.subscribe(subject, cb=add)
    return seen


async def publish_all(relay: Relay) -> None:
    while await relay.publish_pending(read_log=True):
        pass


async def until(predicate, what: str, timeout: float = 10) -> None:  # noqa: ANN001
    for _ in range(int(timeout / 0.02)):
        if predicate():
            return
        await asyncio.sleep(0.02)
    pytest.fail(f"not within {timeout} s: {what}")


async def test_a_stored_event_that_no_longer_decodes_is_dead_lettered_and_the_rest_is_published(
    nats_server: NatsServer, tmp_path
):
    store = tmp_path / "quota.sqlite"
    app = QuotaApplication(env={"PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": str(store)})
    app.on_recorded = None  # published from the log, as after a restart
    app.apply_batch(requests(2), NOW)
    with sqlite3.connect(store) as db:  # an event of a class that was renamed since: it cannot be decoded
        poisoned = db.execute(
            "INSERT INTO stored_events (originator_id, originator_version, topic, state) VALUES (?, 1, ?, ?)",
            (uuid.uuid4().hex, "services.quota.domain:Removed.Event", b"{}"),
        ).lastrowid
    app.apply_batch(requests(3, "siang"), NOW)
    nc = await nats.connect(nats_server.url)
    js = nc.jetstream()
    await ensure_streams(js)
    decisions, letters = await collected(nc, "paspor.quota.>"), await collected(nc, "paspor.deadletter.quota")
    with ThreadPoolExecutor(1) as writer:
        relay = Relay("quota", app, js, functools.partial(to_wire, partitions=8), writer)
        await relay.open()
        await publish_all(relay)
    await until(lambda: len(decisions) == 2 and len(letters) == 1, "both sessions' decisions and one dead letter")
    await nc.close()

    letter = DeadLetter.model_validate_json(letters[0].data)
    assert (letter.source, letter.position) == ("relay:quota", poisoned), "it names where in the store it is"
    assert "Removed" in letter.reason and letter.topic == "services.quota.domain:Removed.Event"
    assert relay.position == app.recorder.max_notification_id(), "the relay went past it"
    assert relay.dead_lettered == 1


async def test_two_megabytes_of_decisions_in_one_batch_are_split_below_the_payload_limit_and_delivered(
    nats_server: NatsServer,
):
    app = QuotaApplication(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    app.on_recorded = None
    crowd = requests(9500)  # one session's batch: 100 reserved, 9,400 sold out, one SlotsDecided
    app.apply_batch(crowd, NOW)
    nc = await nats.connect(nats_server.url)
    js = nc.jetstream()
    await ensure_streams(js)
    parts = await collected(nc, "paspor.quota.>")
    with ThreadPoolExecutor(1) as writer:
        relay = Relay("quota", app, js, functools.partial(to_wire, partitions=8), writer)
        await relay.open()
        whole = sum(len(m.model_dump_json()) for event in app_events(app) for _, m in to_wire(event, partitions=8))
        await publish_all(relay)
    decided = lambda: sum(len(json.loads(m.data)["decisions"]) for m in parts)  # noqa: E731
    await until(lambda: decided() == 9500, "every decision delivered")
    await nc.close()

    assert whole > 2_000_000, "the batch would not fit one message"
    assert len(parts) >= 2 and all(len(m.data) <= nc.max_payload for m in parts)
    booked = [d["booking_id"] for m in parts for d in json.loads(m.data)["decisions"]]
    assert booked == [str(r.booking_id) for r in crowd], "in order, each once"
    assert relay.split == 1 and relay.dead_lettered == 0


def app_events(app: QuotaApplication) -> list:
    return [app.mapper.to_domain_event(n) for n in app.recorder.select_notifications(start=1, limit=10)]
