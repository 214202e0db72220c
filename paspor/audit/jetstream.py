"""Replays the JetStream streams and cross-checks them with the event stores.

Every stored event that has a wire form must have been published (its message id is derived from the
stored event, by the service's own `to_wire`), and every message in the streams must come from a
stored event. Stored events newer than the horizon may still be on their way: counted as pending.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import functools
import json
import uuid
from collections.abc import Callable, Iterable
from typing import Any

from nats.js.api import ConsumerConfig, DeliverPolicy
from nats.js.errors import NotFoundError

from paspor.deadletters import Parked, parked
from shared import clock
from shared.runtime.bus import connect
from shared.runtime.natsauth import NatsLogin, login_from
from shared.runtime.permissions import AUDIT_CONSUMER
from shared.runtime.settings import CommonSettings

from .findings import AuditResult, Evidence
from .records import StoreMissing, open_store

STREAMS = ("PASPOR_BOOKING", "PASPOR_QUOTA", "PASPOR_TICKET")
LOST_REQUESTS = ("booking_stuck_requested", "cancellation_found_nothing")  # findings a dead letter may explain
Expected = dict[str, tuple[Evidence, Any]]  # message id -> the stored event it comes from, and the message


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
                        expected.update((str(m.message_id), (proof, m)) for _, m in to_wire(event))
                position = page[-1].id
        finally:
            reader.close()
    return expected


async def published_messages(nats_url: str, login: NatsLogin | None = None) -> dict[str, tuple[str, int, str]]:
    """Every message id in the three event streams: (stream, sequence, subject)."""
    nc = await connect([u.strip() for u in nats_url.split(",")], "paspor-audit", login)
    found: dict[str, tuple[str, int, str]] = {}
    try:
        js = nc.jetstream()
        for stream in STREAMS:
            try:
                state = (await js.stream_info(stream)).state
            except NotFoundError:
                continue
            if state.messages:  # a purged stream has a last sequence and nothing to read up to it
                found.update(await _read_stream(js, stream, state.last_seq))
    finally:
        await nc.close()
    return found


async def _read_stream(js: Any, stream: str, last: int) -> dict[str, tuple[str, int, str]]:
    """Every message of a stream, through the audit's own consumer (the only one the auditor may read;
    one left by an audit that crashed is deleted first: it would start where that one stopped)."""
    found: dict[str, tuple[str, int, str]] = {}
    await _delete_audit_consumer(js, stream)
    config = ConsumerConfig(name=AUDIT_CONSUMER, deliver_policy=DeliverPolicy.ALL, inactive_threshold=60.0)
    await js.add_consumer(stream, config)
    subscription = await js.pull_subscribe_bind(stream=stream, name=AUDIT_CONSUMER)
    seq = 0
    try:
        while seq < last:
            for msg in await subscription.fetch(1000, timeout=5):
                seq = msg.metadata.sequence.stream
                found[_message_id(msg) or f"{stream}#{seq}"] = (stream, seq, msg.subject)
                await msg.ack()
    finally:
        await subscription.unsubscribe()
        await _delete_audit_consumer(js, stream)
    return found


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
    """Add `unpublished_event` and `published_not_stored` findings (and pending publishes) to `result`."""
    expected = expected_messages(settings, as_of)
    login = login_from(settings, "auditor", settings.data_dir)
    published = asyncio.run(published_messages(nats_url, login))
    name_dead_letters(result, asyncio.run(_dead_letters(nats_url, login)))
    horizon = (as_of or max((_stored_at(p) for p, _ in expected.values()), default=clock.now())) - grace
    result.scope["jetstream"] = {"url": nats_url, "messages_read": len(published), "messages_expected": len(expected)}
    for message_id, (proof, message) in expected.items():
        if message_id not in published:
            if _stored_at(proof) > horizon:
                result.pending["publish"] += 1
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
