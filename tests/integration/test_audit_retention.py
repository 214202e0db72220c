"""The audit of the JetStream streams knows what a stream no longer holds: messages its max age took away.

A stream keeps its messages for its max age only. The stored events whose messages aged out are older than
the stream's oldest message: counted beyond retention, not reported. An event stored inside the window the
stream still holds, and never published, is still a finding.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import functools
import io
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import nats
from rich.console import Console
from support import bookable_day

from paspor.audit import Scope, run_audit
from paspor.audit.jetstream import cross_check_streams, wire_functions
from paspor.audit.report import print_report
from paspor.audit.sample import Pipeline, request
from paspor.natsserver import NatsServer
from shared import clock
from shared.runtime.bus import ensure_streams
from shared.runtime.relay import Relay

SETTLED = dt.timedelta(0)
MAX_AGE = 3.0  # seconds: the first bookings age out; the later ones stay while the audit reads (well within it)
EVENT_STREAMS = ("PASPOR_BOOKING", "PASPOR_QUOTA", "PASPOR_TICKET")
NOT_COMPARED = "stored events older than the stream's oldest message (aged out by its max age): not compared"


class Relays:
    """Each service's outbox relay, kept open: each `publish` sends what was stored since the last."""

    def __init__(self, pipeline: Pipeline, js: Any) -> None:
        wires = wire_functions(pipeline.settings.partitions)
        self.executor = ThreadPoolExecutor(1)
        apps = (("booking", pipeline.booking), ("quota", pipeline.quota), ("notifier", pipeline.notifier))
        self.relays = [Relay(name, app, js, wires[name], self.executor) for name, app in apps]

    async def publish(self) -> None:
        for relay in self.relays:
            if relay._kv is None:
                await relay.open()
            while await relay.publish_pending():
                pass


async def keep_for(js: Any, seconds: float) -> None:
    """Give the event streams a max age of `seconds` (and a dedupe window no longer, as JetStream requires)."""
    for name in EVENT_STREAMS:
        config = (await js.stream_info(name)).config
        await js.update_stream(dataclasses.replace(config, max_age=seconds, duplicate_window=seconds))


async def streams_state(js: Any) -> dict[str, Any]:
    return {name: (await js.stream_info(name)).state for name in EVENT_STREAMS}


async def until_aged_out(js: Any, timeout: float = 20.0) -> None:
    """Wait (polling) until every event stream has dropped all it held; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while any(s.messages or s.first_seq <= 1 for s in (await streams_state(js)).values()):
        if time.monotonic() > deadline:
            raise AssertionError(f"the streams' messages aged out: not so after {timeout:g} s")
        await asyncio.sleep(0.1)


def book(pipeline: Pipeline, serials: range, session: str) -> None:
    now = clock.now()
    pipeline.sign_up(serials, now)
    pipeline.book([request(i, "GRESIK", bookable_day(3), session) for i in serials], now)


async def aged_out_history(tmp_path: Path, js: Any) -> tuple[Pipeline, Relays, int]:
    """Bookings stored and published on streams that keep messages `MAX_AGE` seconds, until all of those
    messages are gone. Returns the pipeline, its relays (which go on from there), and how many aged out."""
    pipeline = Pipeline(tmp_path)
    await ensure_streams(js)
    await keep_for(js, MAX_AGE)
    relays = Relays(pipeline, js)
    book(pipeline, range(4), "siang")
    await relays.publish()
    published = sum(s.last_seq for s in (await streams_state(js)).values())
    await until_aged_out(js)
    return pipeline, relays, published


def audit(pipeline: Pipeline, url: str):
    result = run_audit(pipeline.settings, Scope(grace=SETTLED))
    cross_check_streams(pipeline.settings, result, url, grace=SETTLED)
    return result


def report(result: Any) -> str:
    out = io.StringIO()
    print_report(result, Console(file=out, width=400, color_system=None))
    return out.getvalue()


async def test_stored_events_whose_messages_aged_out_are_counted_beyond_retention_not_reported(
    tmp_path: Path, nats_server: NatsServer
):
    nc = await nats.connect(nats_server.url)
    js = nc.jetstream()
    pipeline, relays, aged_out = await aged_out_history(tmp_path, js)
    book(pipeline, range(4, 8), "pagi")  # later bookings, published, held while the audit reads them
    await relays.publish()
    await nc.close()

    result = await _in_thread(audit, pipeline, nats_server.url)

    assert result.ok, result.findings
    jetstream = result.scope["jetstream"]
    assert aged_out > 8 and jetstream["beyond_retention"] == aged_out, "every aged-out message counted"
    assert jetstream["messages_read"] + aged_out == jetstream["messages_expected"]
    for name in EVENT_STREAMS:
        window = jetstream["streams"][name]
        assert window["first_seq"] > 1 and window["messages"] > 0 and window["beyond_retention"] > 0, name
        assert window["first_published"] is not None and window["retained_from"] is not None, name
    printed = report(result)
    assert f"PASPOR_BOOKING: {jetstream['streams']['PASPOR_BOOKING']['beyond_retention']} {NOT_COMPARED}" in printed
    assert "VERDICT: OK" in printed


async def test_an_event_stored_inside_the_retained_window_and_never_published_is_still_a_finding(
    tmp_path: Path, nats_server: NatsServer
):
    nc = await nats.connect(nats_server.url)
    js = nc.jetstream()
    pipeline, relays, aged_out = await aged_out_history(tmp_path, js)
    book(pipeline, range(4, 8), "pagi")
    await relays.publish()
    await nc.close()
    book(pipeline, range(8, 9), "pagi")  # stored after the streams' oldest messages, but no relay runs

    result = await _in_thread(audit, pipeline, nats_server.url)

    late = [f for f in result.findings if f.code == "unpublished_event"]
    assert {e.kind for f in late for e in f.evidence} >= {"Booking.Requested", "Booking.Confirmed"}
    assert {f.code for f in result.findings} == {"unpublished_event"}
    assert result.scope["jetstream"]["beyond_retention"] == aged_out, "the aged-out ones are still only counted"
    assert "VERDICT: BROKEN" in report(result)


async def test_a_stream_its_max_age_emptied_still_compares_what_was_stored_after_its_last_message(
    tmp_path: Path, nats_server: NatsServer
):
    nc = await nats.connect(nats_server.url)
    pipeline, _, aged_out = await aged_out_history(tmp_path, nc.jetstream())
    await nc.close()
    book(pipeline, range(8, 9), "pagi")  # stored after the streams' last messages, and no relay runs (it died)
    await asyncio.sleep(MAX_AGE + 0.5)  # time passes: by now it is older than the max age too

    result = await _in_thread(audit, pipeline, nats_server.url)

    jetstream = result.scope["jetstream"]
    for name in EVENT_STREAMS:
        window = jetstream["streams"][name]
        assert window["messages"] == 0 and window["first_seq"] == window["last_seq"] + 1, f"{name} emptied"
        assert window["retained_from"] == window["last_published"] is not None, name
    assert jetstream["beyond_retention"] == aged_out, "what the streams were sent and lost: not compared"
    late = [f for f in result.findings if f.code == "unpublished_event"]
    assert {f.code for f in result.findings} == {"unpublished_event"}
    assert {e.kind for f in late for e in f.evidence} >= {"Booking.Requested", "Booking.Confirmed"}
    printed = report(result)
    assert NOT_COMPARED in printed and "it holds nothing any more" in printed and "VERDICT: BROKEN" in printed


async def test_a_purge_of_messages_younger_than_the_max_age_is_still_reported(tmp_path: Path, nats_server: NatsServer):
    """`nats stream purge` by mistake: what the stream lost had not aged out, so its events stay findings."""
    nc = await nats.connect(nats_server.url)
    js = nc.jetstream()
    pipeline = Pipeline(tmp_path)
    await ensure_streams(js)  # the streams' own max age (400 days)
    book(pipeline, range(4), "siang")
    await Relays(pipeline, js).publish()
    await js.purge_stream("PASPOR_QUOTA")
    await nc.close()

    result = await _in_thread(audit, pipeline, nats_server.url)

    jetstream = result.scope["jetstream"]
    assert jetstream["streams"]["PASPOR_QUOTA"]["first_seq"] > 1 and jetstream["beyond_retention"] == 0
    missing = [f for f in result.findings if f.code == "unpublished_event"]
    assert missing and all("SlotsDecided" in f.detail for f in missing), [f.detail for f in result.findings]


async def _in_thread(function, *args):
    return await asyncio.get_running_loop().run_in_executor(None, functools.partial(function, *args))
