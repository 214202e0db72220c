"""Durable JetStream pull consumers that handle messages in batches and never lose one.

A batch is handed to the handler whole; the messages are acknowledged only after the
handler returned (its decisions are stored). A message that cannot be parsed goes to the
dead-letter subject at once with its reason. When the handler fails, the batch is
redelivered with a growing delay; a message delivered ``max_deliver`` times goes to the
dead-letter subject with the error, and the consumer goes on.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

from nats.aio.msg import Msg
from nats.errors import Error as NatsError
from nats.errors import TimeoutError as NatsTimeout
from nats.js import JetStreamContext, api
from pydantic import ValidationError

from shared.events import EVENT_TYPES, Message

log = logging.getLogger(__name__)
Handler = Callable[[list[Message]], Awaitable[None]]


@dataclass
class ConsumerSpec:
    """Which messages a durable consumer reads, and how patiently it retries."""

    stream: str
    durable: str
    filter_subjects: Sequence[str]
    batch: int = 500
    max_deliver: int = 6
    backoff: Sequence[float] = field(default_factory=lambda: (0.5, 2, 10, 30, 60))
    ack_wait: float = 20.0


class BatchConsumer:
    """Fetches batches from a durable consumer and hands them to a handler."""

    def __init__(self, js: JetStreamContext, spec: ConsumerSpec, handler: Handler, service: str):
        self.js, self.spec, self.handler, self.service = js, spec, handler, service
        self.handled = 0
        self.dead_lettered = 0

    async def run(self) -> None:
        """Consume until cancelled."""
        sub = await self._subscribe_when_possible()
        while True:
            try:
                msgs = await sub.fetch(self.spec.batch, timeout=1.0)
                await self.handle(msgs)
            except (NatsTimeout, asyncio.TimeoutError):
                continue
            except (NatsError, OSError) as error:
                # NATS restarting or unreachable: nothing was acked, so nothing is lost; wait and go on.
                log.warning("%s: NATS unavailable (%r); retrying", self.spec.durable, error)
                await asyncio.sleep(0.5)

    async def _subscribe_when_possible(self) -> JetStreamContext.PullSubscription:
        while True:
            try:
                return await self._subscribe()
            except (NatsError, OSError) as error:
                log.warning("%s: cannot create the consumer yet (%r); retrying", self.spec.durable, error)
                await asyncio.sleep(0.5)

    async def handle(self, msgs: list[Msg]) -> None:
        """Parse, hand over, then acknowledge (or retry) one fetched batch."""
        parsed: list[tuple[Msg, Message]] = []
        for msg in msgs:
            try:
                parsed.append((msg, parse(msg.data)))
            except ValueError as error:
                await self.dead_letter(msg, f"invalid message: {error}")
        if not parsed:
            return
        try:
            await self.handler([message for _, message in parsed])
        except Exception as error:  # retried, then dead-lettered: never lost, never hidden
            log.exception("%s: handling a batch of %d failed", self.spec.durable, len(parsed))
            await self._retry_or_dead_letter([m for m, _ in parsed], error)
            return
        await asyncio.gather(*(msg.ack() for msg, _ in parsed))
        self.handled += len(parsed)

    async def _retry_or_dead_letter(self, msgs: list[Msg], error: Exception) -> None:
        for msg in msgs:
            attempt = msg.metadata.num_delivered
            if attempt >= self.spec.max_deliver:
                await self.dead_letter(msg, f"failed {attempt} times: {error!r}")
            else:
                delays = self.spec.backoff
                await msg.nak(delay=delays[min(attempt, len(delays)) - 1])

    async def dead_letter(self, msg: Msg, reason: str) -> None:
        """Park a message with its reason on the service's dead-letter subject, then ack it."""
        record = {
            "service": self.service,
            "consumer": self.spec.durable,
            "subject": msg.subject,
            "reason": reason,
            "data": msg.data.decode("utf-8", errors="replace"),
        }
        await self.js.publish(f"paspor.deadletter.{self.service}", json.dumps(record).encode())
        await msg.ack()
        self.dead_lettered += 1
        log.error("%s: dead-lettered a message from %s: %s", self.spec.durable, msg.subject, reason)

    async def _subscribe(self) -> JetStreamContext.PullSubscription:
        config = api.ConsumerConfig(
            durable_name=self.spec.durable,
            filter_subjects=list(self.spec.filter_subjects),
            ack_policy=api.AckPolicy.EXPLICIT,
            deliver_policy=api.DeliverPolicy.ALL,
            ack_wait=self.spec.ack_wait,
            max_deliver=-1,
            max_ack_pending=max(self.spec.batch * 4, 1000),
        )
        await self.js.add_consumer(self.spec.stream, config)
        return await self.js.pull_subscribe_bind(self.spec.durable, self.spec.stream)


def parse(data: bytes) -> Message:
    """A wire event from its JSON, or ValueError saying what is wrong."""
    try:
        body = json.loads(data)
    except json.JSONDecodeError as error:
        raise ValueError(f"not JSON: {error}") from None
    if not isinstance(body, dict) or body.get("type") not in EVENT_TYPES:
        raise ValueError("no known 'type' field")
    try:
        return EVENT_TYPES[body["type"]].model_validate(body)
    except ValidationError as error:
        raise ValueError(str(error)) from None
