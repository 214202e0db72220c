"""The fast path: a citizen's booking is decided in the one call that makes it, with no 202 and no poll.

To be sure the fast path decided it, the asynchronous pipeline is held still first: the quota worker's
JetStream consumer for the office's partition is paused, so the copy of the request that the booking
service's outbox publishes waits there unread. The booking can then only be decided by the booking
service asking quota over request/reply and recording the answer. Once the consumer is resumed, the
pipeline meets that copy, finds it decided, and changes nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Iterator

import httpx
import nats
import pytest
from nats.js.api import ConsumerInfo
from support import bookable_day, booking_body, sign_in, signing

from paspor.embedded import EmbeddedSystem
from shared.events import partition_of
from shared.runtime.settings import CommonSettings

OFFICE = "SEMARANG"
FAR_FUTURE = "2100-01-01T00:00:00Z"  # paused "for good": resumed by the story itself


@pytest.fixture
def client(system):
    with signing(httpx.Client(base_url=system.gateway_url, timeout=30)) as http:
        yield http


class QuotaConsumer:
    """The quota worker's durable JetStream consumer of one office's partition (the pipeline's entry)."""

    def __init__(self, system: EmbeddedSystem, office: str) -> None:
        # Pausing a consumer is JetStream maintenance: the admin's key, which no service has.
        self.nats_url, self.login, self.stream = system.nats.url, system.login("admin"), "PASPOR_BOOKING"
        self.durable = f"quota-p{partition_of(office, CommonSettings().partitions):02d}"

    def info(self) -> ConsumerInfo:
        return self._run(lambda js: js.consumer_info(self.stream, self.durable))

    def pause(self) -> None:
        assert self._run(lambda js: js.pause_consumer(self.stream, self.durable, FAR_FUTURE)).paused

    def resume(self) -> None:
        assert not self._run(lambda js: js.resume_consumer(self.stream, self.durable)).paused

    def _run(self, call: Callable):  # noqa: ANN202
        async def once():  # noqa: ANN202
            nc = await nats.connect(self.nats_url, **self.login.connect_options())
            try:
                return await call(nc.jetstream())
            finally:
                await nc.close()

        return asyncio.run(once())


@contextlib.contextmanager
def pipeline_paused(consumer: QuotaConsumer) -> Iterator[int]:
    """The quota consumer paused; yields the last stream sequence it had delivered before the pause."""
    consumer.pause()
    try:
        yield consumer.info().delivered.stream_seq
    finally:
        consumer.resume()


def until(condition: Callable[[], bool], seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"still not true after {seconds}s: {what}"
        time.sleep(0.05)


def test_a_booking_is_confirmed_in_the_one_call_that_makes_it_while_the_pipeline_stands_still(system, client):
    ayu = sign_in(client, "ayu-fast-path@example.com")
    body = booking_body(OFFICE, bookable_day(8), "pagi", serial=97401)
    quota = QuotaConsumer(system, OFFICE)

    with pipeline_paused(quota) as delivered_before:
        response = client.post("/v1/bookings", json=body, headers=ayu.headers("ayu-fast-path-0001"))
        until(lambda: quota.info().num_pending >= 1, 10, "the outbox published the request to the paused pipeline")
        assert quota.info().delivered.stream_seq == delivered_before, "the pipeline read nothing meanwhile"

    assert response.status_code == 201, f"{response.status_code}: {response.text}"
    booking = response.json()
    assert booking["status"] == "confirmed" and booking["queue_number"] >= 1
    assert response.headers["Location"] == f"/v1/bookings/{booking['booking_id']}", "nothing to wait for"

    until(lambda: (i := quota.info()).num_pending == 0 and i.num_ack_pending == 0, 20, "the pipeline caught up")
    again = client.get(f"/v1/bookings/{booking['booking_id']}", headers=ayu.headers()).json()
    assert (again["status"], again["queue_number"]) == ("confirmed", booking["queue_number"]), "decided once"
