"""The audit replays the JetStream streams too: every stored event was published, nothing published was not stored."""

from __future__ import annotations

import datetime as dt
import functools
import json
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import nats
from support import bookable_day

from paspor.audit import Scope, run_audit
from paspor.audit.jetstream import cross_check_streams, wire_functions
from paspor.audit.sample import Pipeline, request
from paspor.natsserver import NatsServer
from shared.events import BookingRequested, subject_for, utcnow
from shared.runtime.bus import ensure_streams
from shared.runtime.relay import Relay

SETTLED = dt.timedelta(0)


async def publish_everything(pipeline: Pipeline, url: str) -> None:
    """What each service's outbox relay does: publish every stored event, with its derived message id."""
    nc = await nats.connect(url)
    js = nc.jetstream()
    await ensure_streams(js)
    wires = wire_functions(pipeline.settings.partitions)
    with ThreadPoolExecutor(1) as executor:
        for name, app in (("booking", pipeline.booking), ("quota", pipeline.quota), ("notifier", pipeline.notifier)):
            relay = Relay(name, app, js, wires[name], executor)
            await relay.open()
            while await relay.publish_pending():
                pass
    await nc.close()


def a_history(tmp_path: Path) -> Pipeline:
    pipeline, now = Pipeline(tmp_path), utcnow()
    pipeline.sign_up(range(4), now)
    pipeline.book([request(i, "GRESIK", bookable_day(3), "siang") for i in range(4)], now)
    return pipeline


def audit(pipeline: Pipeline, url: str):
    result = run_audit(pipeline.settings, Scope(grace=SETTLED))
    cross_check_streams(pipeline.settings, result, url, grace=SETTLED)
    return result


async def test_streams_that_carry_exactly_the_stored_events_pass(tmp_path: Path, nats_server: NatsServer):
    pipeline = a_history(tmp_path)
    await publish_everything(pipeline, nats_server.url)

    result = await _in_thread(audit, pipeline, nats_server.url)

    assert result.ok, result.findings
    assert result.scope["jetstream"]["messages_read"] == result.scope["jetstream"]["messages_expected"] > 4


async def test_a_stored_event_never_published_and_a_message_never_stored_are_caught(
    tmp_path: Path, nats_server: NatsServer
):
    pipeline = a_history(tmp_path)
    await publish_everything(pipeline, nats_server.url)
    pipeline.sign_up(range(9, 10), utcnow())
    pipeline.book([request(9, "GRESIK", bookable_day(3), "siang")], utcnow())  # stored, but no relay runs
    forged = BookingRequested(
        booking_id=uuid.uuid4(),
        slot={"office": "GRESIK", "date": bookable_day(3), "session": "pagi"},
        correlation_id=uuid.uuid4(),
        applicants=1,
    )
    nc = await nats.connect(nats_server.url)
    await nc.jetstream().publish(
        subject_for(forged, "GRESIK"),
        forged.model_dump_json().encode(),
        headers={"Nats-Msg-Id": str(forged.message_id)},
    )
    await nc.close()

    result = await _in_thread(audit, pipeline, nats_server.url)

    broken = result.broken()
    assert broken["published_not_stored"] == 1
    assert broken["unpublished_event"] >= 2, "the late booking's request and its confirmation"
    late = [f for f in result.findings if f.code == "unpublished_event"]
    assert {e.kind for f in late for e in f.evidence} >= {"Booking.Requested", "Booking.Confirmed"}
    assert json.loads(json.dumps(result.as_dict(), default=str))["verdict"] == "broken"


async def _in_thread(function, *args):
    import asyncio

    return await asyncio.get_running_loop().run_in_executor(None, functools.partial(function, *args))
