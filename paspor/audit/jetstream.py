"""Replays the JetStream streams and cross-checks them with the event stores.

Every stored event that has a wire form must have been published (its message id is derived from the
stored event, by the service's own `to_wire`), and every message in the streams must come from a
stored event. Stored events newer than the horizon may still be on their way: counted as pending.

A stream keeps its messages for its max age only (`PASPOR_STREAM_MAX_AGE_DAYS`: 400 days, or as short as
minutes for a soak). A stream whose first sequence is above 1 has lost its oldest messages. A stored event whose message
is missing from it, and that was stored before both its oldest message and its max age back from
JetStream's clock (within the grace), may have aged out: it cannot be compared, and is counted as beyond
retention, per stream, not reported. Everything stored after that is still judged (`Window.retained_from`).
"""

from __future__ import annotations

import asyncio
import collections
import dataclasses
import datetime as dt
import functools
import json
import uuid
from collections.abc import Callable, Iterable
from typing import Any, NamedTuple

from nats.js.api import ConsumerConfig, DeliverPolicy
from nats.js.errors import NotFoundError

from paspor.deadletters import Parked, parked
from shared import clock
from shared.events.subjects import STREAMS as STREAM_SPECS
from shared.runtime.bus import connect
from shared.runtime.natsauth import NatsLogin, login_from
from shared.runtime.permissions import AUDIT_CONSUMER
from shared.runtime.settings import CommonSettings

from .findings import AuditResult, Evidence
from .records import StoreMissing, open_store

STREAMS = ("PASPOR_BOOKING", "PASPOR_QUOTA", "PASPOR_TICKET")
JS_API = "$JS.API"  # JetStream's API prefix (the default one `nc.jetstream()` uses)
LOST_REQUESTS = ("booking_stuck_requested", "cancellation_found_nothing")  # findings a dead letter may explain
Published = dict[str, tuple[str, int, str]]  # message id -> (stream, sequence, subject)


class Wanted(NamedTuple):
    """A message a stored event should have put on the wire: the event's evidence, the message, its stream."""

    proof: Evidence
    message: Any
    stream: str | None  # the stream its subject belongs to (None: no stream carries it)


Expected = dict[str, Wanted]  # message id -> the stored event it comes from, the message, its stream


@dataclasses.dataclass(frozen=True)
class Window:
    """What a stream still holds, by its sequences and JetStream's own times. A first sequence above 1: the
    messages before it are gone (aged out by the stream's max age, or purged); no messages: all are gone."""

    first_seq: int
    last_seq: int
    messages: int
    max_age: dt.timedelta | None  # None: the stream keeps its messages for ever
    first_published: dt.datetime | None  # when JetStream stored the oldest message it holds
    last_published: dt.datetime | None  # when it stored the last message it was sent (kept when that is gone)
    server_time: dt.datetime | None  # JetStream's time when it described the stream (servers from 2.10)

    @property
    def trimmed(self) -> bool:
        return self.first_seq > 1

    @property
    def retained_from(self) -> dt.datetime | None:
        """The time before which a message sent to the stream may have aged out; None when it lost none (its
        first sequence is 1) or none can have aged out (no max age: what is gone was purged).

        A message ages out once it is older than the max age, and only messages older than the oldest one
        held (or, the stream emptied, than its last one) are gone: the earlier of the two times. An event is
        published after it was stored, so an event stored before that time whose message is missing may have
        been published and aged out; one stored after it cannot have been, and stays a finding. So does one
        lost to a purge of messages younger than the max age (`nats stream purge`): it is not told apart
        from one never published (`paspor rebuild outcomes` publishes decisions again).

        Both clocks are real time: JetStream stamps its messages and replies on the server's clock, and the
        event stores stamp their events on the recording process's (the eventsourcing library's, never a
        pinned one); the grace covers their hosts' skew.
        """
        if not self.trimmed or self.max_age is None or self.server_time is None:
            return None
        aged = self.server_time - self.max_age
        held = self.first_published if self.messages else self.last_published
        return min(aged, held) if held else aged

    @classmethod
    def of(cls, info: dict[str, Any]) -> Window:
        """From JetStream's stream info (its raw reply: the client's drops the times)."""
        state, max_age = info["state"], info["config"].get("max_age", 0)
        return cls(
            state["first_seq"],
            state["last_seq"],
            state["messages"],
            dt.timedelta(microseconds=max_age // 1000) if max_age else None,
            _jetstream_time(state.get("first_ts")) if state["messages"] else None,
            _jetstream_time(state.get("last_ts")) if state["last_seq"] else None,
            _jetstream_time(info.get("ts")),
        )


def _jetstream_time(text: str | None) -> dt.datetime | None:
    """An RFC 3339 time as JetStream writes it (nanoseconds, `Z`), to the microsecond."""
    if not text or text.startswith("0001-"):
        return None
    day, _, rest = text.removesuffix("Z").partition("T")
    clock_time, _, fraction = rest.partition(".")
    return dt.datetime.fromisoformat(f"{day}T{clock_time}.{(fraction + '000000')[:6]}+00:00")


def stream_of(subject: str) -> str | None:
    """The stream whose subjects (`StreamSpec.subjects`, NATS wildcards) take `subject`."""
    for spec in STREAM_SPECS:
        if any(_matches(pattern, subject) for pattern in spec.subjects):
            return spec.name
    return None


def _matches(pattern: str, subject: str) -> bool:
    wanted, tokens = pattern.split("."), subject.split(".")
    for index, token in enumerate(wanted):
        if token == ">":
            return len(tokens) > index
        if index >= len(tokens) or token not in ("*", tokens[index]):
            return False
    return len(tokens) == len(wanted)


def wire_functions(partitions: int) -> dict[str, Callable[[Any], Iterable[tuple[str, Any]]]]:
    from services.booking.messaging import to_wire as booking
    from services.notifier.messaging import to_wire as notifier
    from services.quota.wire import to_wire as quota

    return {
        name: functools.partial(f, partitions=partitions)
        for name, f in (("booking", booking), ("quota", quota), ("notifier", notifier))
    }


def expected_messages(settings: CommonSettings, as_of: dt.datetime | None) -> Expected:
    """Every message the stores' events should have produced on the wire, by message id."""
    expected: Expected = {}
    for name, to_wire in wire_functions(settings.partitions).items():
        try:
            reader = open_store(settings, name)
        except StoreMissing:
            continue
        try:
            position = 0
            while page := reader.recorder.select_notifications(position, 5000, inclusive_of_start=False):
                for notification in page:
                    event: Any = reader.mapper.to_domain_event(notification)  # an aggregate's event: it has a timestamp
                    if as_of is None or event.timestamp <= as_of:
                        proof = Evidence(
                            name,
                            notification.id,
                            notification.topic.rpartition(":")[2],
                            str(notification.originator_id),
                            notification.originator_version,
                            event.timestamp,
                        )
                        expected.update(
                            (str(m.message_id), Wanted(proof, m, stream_of(subject))) for subject, m in to_wire(event)
                        )
                position = page[-1].id
        finally:
            reader.close()
    return expected


async def published_messages(nats_url: str, login: NatsLogin | None = None) -> tuple[Published, dict[str, Window]]:
    """Every message id in the three event streams, and what each stream still holds."""
    nc = await connect([u.strip() for u in nats_url.split(",")], "paspor-audit", login)
    found: Published = {}
    windows: dict[str, Window] = {}
    try:
        js = nc.jetstream()
        for stream in STREAMS:
            info = json.loads((await nc.request(f"{JS_API}.STREAM.INFO.{stream}", b"", timeout=5)).data)
            if info.get("error", {}).get("code") == 404:
                continue
            if "error" in info:
                raise RuntimeError(f"stream info of {stream}: {info['error']}")
            window = Window.of(info)
            if window.messages:  # a stream emptied (aged out, purged) has a last sequence and nothing to read
                messages, first_published = await _read_stream(js, stream, window.last_seq)
                found.update(messages)
                window = dataclasses.replace(window, first_published=first_published or window.first_published)
            windows[stream] = window
    finally:
        await nc.close()
    return found, windows


async def _read_stream(js: Any, stream: str, last: int) -> tuple[Published, dt.datetime | None]:
    """Every message of a stream, through the audit's own consumer (the only one the auditor may read;
    one left by an audit that crashed is deleted first: it would start where that one stopped), and when
    JetStream stored the first of them (the oldest it still holds)."""
    found: Published = {}
    first_published: dt.datetime | None = None
    await _delete_audit_consumer(js, stream)
    config = ConsumerConfig(name=AUDIT_CONSUMER, deliver_policy=DeliverPolicy.ALL, inactive_threshold=60.0)
    await js.add_consumer(stream, config)
    subscription = await js.pull_subscribe_bind(stream=stream, name=AUDIT_CONSUMER)
    seq = 0
    try:
        while seq < last:
            for msg in await subscription.fetch(1000, timeout=5):
                seq = msg.metadata.sequence.stream
                if first_published is None:
                    first_published = msg.metadata.timestamp
                found[_message_id(msg) or f"{stream}#{seq}"] = (stream, seq, msg.subject)
                await msg.ack()
    finally:
        await subscription.unsubscribe()
        await _delete_audit_consumer(js, stream)
    return found, first_published


def _message_id(msg: Any) -> str | None:
    """A message's id: its dedupe header, or (sent again on purpose by `paspor rebuild outcomes`) its body's."""
    if header := (msg.headers or {}).get("Nats-Msg-Id"):
        return str(header)
    try:
        found = json.loads(msg.data).get("message_id")
    except (ValueError, AttributeError):  # not JSON, or not an object: nothing of ours
        return None
    return str(found) if found else None


async def _delete_audit_consumer(js: Any, stream: str) -> None:
    try:
        await js.delete_consumer(stream, AUDIT_CONSUMER)
    except NotFoundError:
        pass


def cross_check_streams(
    settings: CommonSettings,
    result: AuditResult,
    nats_url: str,
    as_of: dt.datetime | None = None,
    grace: dt.timedelta = dt.timedelta(seconds=60),
) -> None:
    """Add `unpublished_event` and `published_not_stored` findings (and pending publishes) to `result`;
    count, per stream, the stored events older than what the stream still holds (beyond retention)."""
    expected = expected_messages(settings, as_of)
    login = login_from(settings, "auditor", settings.data_dir)
    published, windows = asyncio.run(published_messages(nats_url, login))
    name_dead_letters(result, asyncio.run(_dead_letters(nats_url, login)))
    horizon = (as_of or max((_stored_at(w.proof) for w in expected.values()), default=clock.now())) - grace
    beyond: collections.Counter[str] = collections.Counter()
    for message_id, (proof, message, stream) in expected.items():
        if message_id not in published:
            window = windows.get(stream or "")
            since = window.retained_from if window else None
            if _stored_at(proof) > horizon:
                result.pending["publish"] += 1
            elif stream and since is not None and _stored_at(proof) < since + grace:
                beyond[stream] += 1  # its message may have been published and aged out: not compared
            else:
                result.add(
                    "unpublished_event",
                    f"message {message_id}",
                    f"{type(message).__name__} from {proof.kind} is in no stream",
                    proof,
                )
    for message_id, (stream, seq, subject) in published.items():
        if message_id not in expected:
            result.add(
                "published_not_stored",
                f"message {message_id}",
                f"{stream} #{seq} on {subject}: no stored event made it",
            )
    result.scope["jetstream"] = {
        "url": nats_url,
        "messages_read": len(published),
        "messages_expected": len(expected),
        "beyond_retention": sum(beyond.values()),
        "streams": {
            name: {
                "first_seq": window.first_seq,
                "last_seq": window.last_seq,
                "messages": window.messages,
                "max_age_seconds": window.max_age.total_seconds() if window.max_age else None,
                "first_published": window.first_published,
                "last_published": window.last_published,
                "server_time": window.server_time,
                "retained_from": window.retained_from,
                "beyond_retention": beyond[name],
            }
            for name, window in windows.items()
        },
    }


async def _dead_letters(nats_url: str, login: NatsLogin | None = None) -> list[Parked]:
    nc = await connect([u.strip() for u in nats_url.split(",")], "paspor-audit", login)
    try:
        return await parked(nc, limit=100_000)
    finally:
        await nc.close()


def name_dead_letters(result: AuditResult, letters: list[Parked]) -> None:
    """Name, in each stuck booking's finding (or cancellation that found nothing), the dead letters that hold it up."""
    by_booking: dict[str, list[str]] = {}
    for p in letters:
        for booking_id in p.letter.booking_ids:
            named = f"#{p.sequence} ({p.letter.source}: {p.letter.reason[:80]})"
            by_booking.setdefault(_same_id(booking_id), []).append(named)
    for index, finding in enumerate(result.findings):
        held = by_booking.get(_same_id(finding.subject.removeprefix("booking ")))
        if finding.code in LOST_REQUESTS and held:
            detail = f"{finding.detail}; dead letters: {', '.join(held)} (paspor deadletter show/replay)"
            result.findings[index] = dataclasses.replace(finding, detail=detail)


def _same_id(text: str) -> str:
    """A booking id as one form (the stores write hex, messages the dashed form)."""
    try:
        return uuid.UUID(text).hex
    except ValueError:
        return text


def _stored_at(proof: Evidence) -> dt.datetime:
    assert proof.at is not None, "the evidence of an expected message carries its event's time"
    return proof.at
