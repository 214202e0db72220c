"""The gateway's side of NATS: commands and queries by request/reply, outcomes as they happen."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from typing import Any
from uuid import UUID

from faststream.nats import NatsBroker
from nats.errors import NoRespondersError
from nats.errors import TimeoutError as NatsTimeout
from opentelemetry.trace import SpanKind, StatusCode
from pydantic import BaseModel

from shared.runtime import hops

from .expiring import Expiring, seconds

log = logging.getLogger(__name__)


OUTCOMES = {"BookingConfirmed": "confirmed", "BookingRejected": "rejected"}  # a booking's final word
OUTCOME_SECONDS = 60.0  # how long an outcome is kept for a waiter who asked just after it passed


class ServiceUnavailable(Exception):
    """A service did not answer in time."""


class Outcomes:
    """Futures of bookings awaiting their final outcome, fed by booking events on core NATS.

    An outcome is also kept a while (`OUTCOME_SECONDS`): a booking read as `requested` just before its
    outcome passed would otherwise wait for it in vain. Later, reading the booking shows it decided.
    """

    def __init__(self, remember: int = 20000, clock: Callable[[], float] = seconds) -> None:
        self.waiters: dict[UUID, list[asyncio.Future[dict]]] = {}
        self.recent: Expiring[UUID, dict] = Expiring(OUTCOME_SECONDS, remember, clock)

    def arrived(self, event: dict) -> None:
        booking_id = UUID(event["booking_id"])
        self.recent.put(booking_id, event)
        for future in self.waiters.pop(booking_id, []):
            if not future.done():
                future.set_result(event)

    async def wait(self, booking_id: UUID, timeout: float) -> dict | None:
        known = self.recent.get(booking_id)
        if known is not None:
            return known
        future: asyncio.Future[dict] = asyncio.get_running_loop().create_future()
        self.waiters.setdefault(booking_id, []).append(future)
        try:
            return await asyncio.wait_for(future, timeout)
        except TimeoutError:
            return None
        finally:
            waiting = self.waiters.get(booking_id, [])
            if future in waiting:
                waiting.remove(future)
            if not waiting:
                self.waiters.pop(booking_id, None)


class Changes:
    """Wakes whoever follows a booking (its event stream) when any event about it passes by."""

    def __init__(self) -> None:
        self.followers: dict[str, set[asyncio.Event]] = {}

    def changed(self, booking_id: str | None) -> None:
        for follower in self.followers.get(str(booking_id), ()):
            follower.set()

    def follow(self, booking_id: UUID) -> asyncio.Event:
        """An event set whenever something happens to the booking (clear it after each look)."""
        follower = asyncio.Event()
        self.followers.setdefault(str(booking_id), set()).add(follower)
        return follower

    def unfollow(self, booking_id: UUID, follower: asyncio.Event) -> None:
        key = str(booking_id)
        self.followers.get(key, set()).discard(follower)
        if not self.followers.get(key, True):
            del self.followers[key]


class Bus:
    """Request/reply to the services and the stream of booking outcomes."""

    def __init__(self, broker: NatsBroker, timeout: float = 5.0) -> None:
        self.broker, self.timeout = broker, timeout
        self.outcomes = Outcomes()
        self.changes = Changes()
        self.ready = False

        # no_reply: JetStream publishes are requests; a core listener must never answer them. The
        # handlers take the decoded body, not the message (which faststream resolves in a worker thread).
        @broker.subscriber("paspor.booking.>", no_reply=True, title="gateway.booking-events")
        async def booking_event(event: Any) -> None:
            if not isinstance(event, dict):
                return
            status = OUTCOMES.get(event.get("type", ""))
            if status is not None:
                self.outcomes.arrived(event | {"status": status})
            self.changes.changed(event.get("booking_id"))

        @broker.subscriber("paspor.ticket.>", no_reply=True, title="gateway.ticket-events")
        async def ticket_event(event: Any) -> None:
            if isinstance(event, dict):
                self.changes.changed(event.get("booking_id"))

    async def ask(self, subject: str, message: BaseModel) -> dict[str, Any]:
        """Send a command or query and return the service's JSON reply (inside a span, when the request is traced)."""
        span = hops.start(
            f"gateway ask {subject.removeprefix('paspor.cmd.')}", hops.current(), kind=SpanKind.CLIENT, wait="ask"
        )
        try:
            response = await self.broker.request(
                message.model_dump_json().encode(), subject, timeout=self.timeout, headers=hops.headers(span)
            )
        except (NatsTimeout, TimeoutError, NoRespondersError) as error:
            if span is not None:
                span.set_status(StatusCode.ERROR, "no answer")
            raise ServiceUnavailable(subject) from error
        finally:
            if span is not None:
                span.end()
        return json.loads(response.body)
