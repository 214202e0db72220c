"""Durable JetStream pull consumers that handle messages in order, in batches, and never lose one.

A fetched batch is handed to the handler whole and acknowledged only after the handler returned,
that is after its decisions were stored, with one ack per message: a batch-wide "ack all" would
also acknowledge a batch that another process sharing the consumer (a replica, a misassigned or
crashed quota worker) still held. At most one batch is pending at a time, so a batch that a
crashed process held comes back before anything newer. The consumer never moves past a batch it
could not handle:

- a message that cannot be parsed goes to the dead-letter subject at once, with its reason;
- when the store or NATS is down (an infrastructure error), the batch is retried in place, with a
  growing delay, for as long as it takes;
- when the handler fails otherwise, the batch is retried a few times, then its messages are handled
  one by one, and a message that fails alone goes to the dead-letter subject with the error.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

from eventsourcing.persistence import InterfaceError, OperationalError
from nats.aio.msg import Msg
from nats.errors import Error as NatsError
from nats.errors import MsgAlreadyAckdError
from nats.errors import TimeoutError as NatsTimeout
from nats.js import JetStreamContext, api
from pydantic import ValidationError

from shared.events import DeadLetter, Message, SlotsDecided, derived_id
from shared.events.subjects import DEAD_LETTER_SUBJECT, VERBS

from . import hops
from .lease import LeaseLost

log = logging.getLogger(__name__)
Handler = Callable[[list[Message]], Awaitable[None]]
INFRASTRUCTURE = (OperationalError, InterfaceError, NatsError, OSError)


@dataclass
class ConsumerSpec:
    """Which messages a durable consumer reads, and how patiently it retries."""

    stream: str
    durable: str
    filter_subjects: Sequence[str]
    batch: int = 500
    attempts: int = 4
    backoff: Sequence[float] = field(default_factory=lambda: (0.2, 1, 3, 10, 30))
    ack_wait: float = 30.0
    # How long a fetch may wait to fill its batch: a short wait keeps latency low when traffic is
    # light; under a rush batches fill at once anyway.
    linger: float = 0.02
    # Most events handed to the handler at once (one save): a batch of SlotsDecided can carry
    # thousands of decisions after a backlog, and one save of them all would hold the writer.
    max_items: int = 2000
    # And most bytes of them (a decision counts its share of its message): what one save writes and
    # parses is bounded however large each event is.
    max_bytes: int = 1_000_000


async def _give_back(msgs: list[Msg]) -> None:
    """Nak what a stopping consumer holds, so it is redelivered now rather than after the ack wait."""
    for msg in msgs:
        with contextlib.suppress(MsgAlreadyAckdError, NatsError, OSError):  # acked, or no connection: ack wait
            await msg.nak()


class BatchConsumer:
    """Fetches batches from a durable consumer and hands them, in order, to a handler."""

    def __init__(self, js: JetStreamContext, spec: ConsumerSpec, handler: Handler, service: str):
        self.js, self.spec, self.handler, self.service = js, spec, handler, service
        self.handled = 0
        self.dead_lettered = 0
        self.last_error: Exception | None = None
        self.retry_delays: deque[float] = deque(maxlen=64)  # what the last retries waited (tests, metrics)
        self.stopping = False  # asked to stop: no fetch after the current batch
        self.stopped = asyncio.Event()  # run() returned

    def stop(self) -> None:
        """Finish the batch in hand and fetch no more (a stop that cancels a fetch strands what it brought)."""
        self.stopping = True

    async def run(self) -> None:
        """Consume until stopped (or cancelled)."""
        try:
            await self._consume()
        finally:
            self.stopped.set()

    async def _consume(self) -> None:
        sub = await self._subscribe_when_possible()
        while not self.stopping:
            try:
                msgs = await sub.fetch(self.spec.batch, timeout=self.spec.linger)
            except (TimeoutError, NatsTimeout):
                continue
            except (NatsError, OSError) as error:
                log.warning("%s: NATS unavailable (%r); retrying", self.spec.durable, error)
                await asyncio.sleep(0.5)
                continue
            try:
                await self._handle_until_acked(msgs)
            except asyncio.CancelledError:  # stopping mid-batch: give back at once what was not acked
                await _give_back(msgs)
                raise
            except LeaseLost as error:  # the partition is another worker's now: it gets the batch at once
                log.error("%s: lease lost (%s); giving back %d message(s)", self.spec.durable, error, len(msgs))
                await _give_back(msgs)
                return

    async def _handle_until_acked(self, msgs: list[Msg]) -> None:
        """Never fetch past a batch that is not acknowledged: the partition's order depends on it."""
        while True:
            try:
                await self.handle(msgs)
                return
            except (NatsError, OSError) as error:  # handling is idempotent: do it again
                log.warning("%s: could not finish a batch (%r); retrying it", self.spec.durable, error)
                await asyncio.sleep(0.5)

    async def handle(self, msgs: list[Msg]) -> None:
        """Parse, hand over (retrying in place), then acknowledge every message of the batch."""
        if not msgs:  # a fetch cut short by a reconnect
            return
        parsed: list[tuple[Msg, Message]] = []
        sizes: list[float] = []  # each event's bytes: its message's, shared among the events it carries
        for msg in msgs:
            try:
                events = parse(msg.subject, msg.data)
            except ValueError as error:
                await self.dead_letter(msg, f"invalid message: {error}")
                continue
            parsed.extend((msg, message) for message in events)
            sizes.extend([len(msg.data) / max(len(events), 1)] * len(events))
        spans = self._spans(parsed) if hops.enabled() else None
        token = hops.under(spans.contexts) if spans is not None else None  # what the handler saves keeps them
        try:
            await self._handle_parsed(msgs, parsed, sizes)
        finally:
            if token is not None:
                hops.reset(token)
            if spans is not None:
                spans.end()

    async def _handle_parsed(self, msgs: list[Msg], parsed: list[tuple[Msg, Message]], sizes: list[float]) -> None:
        for start, end in bounded(sizes, self.spec.max_items, self.spec.max_bytes):  # bounded work per save
            chunk = parsed[start:end]
            if not await self._deliver([m for _, m in chunk], msgs):
                for msg, message in chunk:  # isolate what fails alone
                    if not await self._deliver([message], msgs):
                        reason = f"failed {self.spec.attempts} times: {self.last_error!r}"
                        await self.dead_letter(msg, reason, self.spec.attempts)
        for msg in msgs:  # one after the other: each only queues a line on the connection
            with contextlib.suppress(MsgAlreadyAckdError):  # acked before this batch was retried
                await msg.ack()
        self.handled += len(parsed)

    def _spans(self, parsed: list[tuple[Msg, Message]]) -> hops.Group | None:
        """Per sampled message, its time in the stream (`queued`) and its handling (`fetch`); the batch's span links all."""
        traced: list[tuple[str, str, int | None]] = []
        for msg, message in parsed:
            parent = hops.carried(msg.headers, message)
            if parent is not None:
                joined = int(msg.metadata.timestamp.timestamp() * 1e9)  # when JetStream stored it
                traced.extend((b, parent, joined) for b in hops.bookings_of(message)[:1])
        return hops.group(f"{self.spec.durable} fetch", traced, wait="fetch")

    async def _deliver(self, messages: list[Message], msgs: list[Msg]) -> bool:
        """True once the handler succeeded; False after `attempts` failures that are not infrastructure."""
        failures = waits = 0
        while True:
            try:
                await self.handler(messages)
                return True
            except INFRASTRUCTURE as error:  # retried for as long as it takes, waiting longer each time
                log.warning("%s: store or NATS unavailable (%r); retrying the batch", self.spec.durable, error)
            except LeaseLost as error:  # ours stopped us (we lost the lease), or another partition's in the group
                if self.stopping:
                    raise
                log.warning("%s: %s; retrying the batch", self.spec.durable, error)
            except Exception as error:  # retried, then dead-lettered: never lost, never hidden
                log.exception("%s: handling %d message(s) failed", self.spec.durable, len(messages))
                self.last_error = error
                failures += 1
                if failures >= self.spec.attempts:
                    return False
            await self._wait(waits, msgs)
            waits += 1

    async def _wait(self, waits: int, msgs: list[Msg]) -> None:
        """Sleep the `waits`-th delay of the backoff, keeping every message of the batch ours meanwhile."""
        delays = self.spec.backoff
        delay = delays[min(waits, len(delays) - 1)]
        self.retry_delays.append(delay)
        slice_ = self.spec.ack_wait / 3  # renewed well before any message's ack wait runs out
        while delay > 0:
            await self._keep(msgs)
            await asyncio.sleep(min(delay, slice_))
            delay -= slice_
        await self._keep(msgs)

    @staticmethod
    async def _keep(msgs: list[Msg]) -> None:
        """Reset the ack wait of every message of the batch (each has its own, not just the last one's)."""
        for msg in msgs:
            try:
                await msg.in_progress()
            except MsgAlreadyAckdError:
                continue
            except (NatsError, OSError):
                return  # NATS is down: the ack wait may expire and the batch come again, in order

    async def dead_letter(self, msg: Msg, reason: str, attempts: int = 1) -> None:
        """Park a message with its reason on the service's dead-letter subject (once, by its sequence)."""
        sequence = msg.metadata.sequence.stream
        data = msg.data.decode("utf-8", errors="replace")
        record = DeadLetter(
            message_id=derived_id("deadletter", self.spec.durable, sequence),
            service=self.service,
            source=f"consumer:{self.spec.durable}",
            subject=msg.subject,
            reason=reason[:2000],
            attempts=attempts,
            headers=dict(msg.headers or {}),
            data=data,
            stream_sequence=sequence,
            booking_ids=_booking_ids(data),
        )
        await self.js.publish(
            DEAD_LETTER_SUBJECT.format(service=self.service),
            record.model_dump_json().encode(),
            headers={"Nats-Msg-Id": str(record.message_id)},
        )
        self.dead_lettered += 1
        log.error("%s: dead-lettered a message from %s: %s", self.spec.durable, msg.subject, reason)

    async def _subscribe_when_possible(self) -> JetStreamContext.PullSubscription:
        while True:
            try:
                return await self._subscribe()
            except (NatsError, OSError) as error:
                log.warning("%s: cannot create the consumer yet (%r); retrying", self.spec.durable, error)
                await asyncio.sleep(0.5)

    async def _subscribe(self) -> JetStreamContext.PullSubscription:
        config = api.ConsumerConfig(
            durable_name=self.spec.durable,
            filter_subjects=list(self.spec.filter_subjects),
            ack_policy=api.AckPolicy.EXPLICIT,
            deliver_policy=api.DeliverPolicy.ALL,
            ack_wait=self.spec.ack_wait,
            max_deliver=-1,
            # One batch in flight: a batch held by a process that crashed is redelivered (after ack_wait)
            # before anything newer is handed out, so a partition's requests are decided in order.
            max_ack_pending=self.spec.batch,
        )
        await self.js.add_consumer(self.spec.stream, config)
        return await self.js.pull_subscribe_bind(self.spec.durable, self.spec.stream)


def bounded(sizes: Sequence[float], max_items: int, max_bytes: int) -> list[tuple[int, int]]:
    """Consecutive (start, end) ranges of items, each at most `max_items` long and `max_bytes` large
    (an item larger than `max_bytes` alone); in order, covering every item."""
    ranges: list[tuple[int, int]] = []
    start, total = 0, 0.0
    for i, size in enumerate(sizes):
        if i > start and (i - start >= max_items or total + size > max_bytes):
            ranges.append((start, i))
            start, total = i, 0.0
        total += size
    if start < len(sizes):
        ranges.append((start, len(sizes)))
    return ranges


def _booking_ids(data: str) -> list[str]:
    """The bookings a message names (its booking_id, or a SlotsDecided's), for the audit to match; [] if unreadable."""
    try:
        body = json.loads(data)
    except ValueError:
        return []
    if not isinstance(body, dict):
        return []
    ids = [body.get("booking_id")] + [d.get("booking_id") for d in body.get("decisions") or [] if isinstance(d, dict)]
    return [str(i) for i in ids if isinstance(i, str)][:1000]


BY_SUBJECT = {(context, verb): cls for cls, (context, verb) in VERBS.items()}


def parse(subject: str, data: bytes) -> list[Message]:
    """The wire events a message carries (a SlotsDecided carries one per booking), or ValueError."""
    parts = subject.split(".")
    model = BY_SUBJECT.get((parts[1], parts[-1])) if len(parts) == 4 else None
    if model is None:
        raise ValueError(f"no event is published on {subject}")
    try:
        message = model.model_validate_json(data)
    except ValidationError as error:
        if error.errors()[0]["type"] == "json_invalid":
            raise ValueError(f"not JSON: {error.errors()[0]['msg']}") from None
        raise ValueError(str(error)) from None
    return list(message.expand()) if isinstance(message, SlotsDecided) else [message]
