"""`paspor deadletter`: a request a worker gave up on is listed with why, replayed through the normal path, and decided.

The quota worker's handler fails on one booking request (as a bug would, until a fix is deployed):
the consumer retries it, then parks it. Once the fault is gone, `paspor deadletter replay` sends it
again and it is decided like any other request, exactly once.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from concurrent.futures import ThreadPoolExecutor

import nats
from eventsourcing.application import AggregateNotFoundError
from support import NOW, bookable_day
from typer.testing import CliRunner

from paspor.cli import app as cli
from paspor.natsserver import NatsServer
from services.quota.application import QuotaApplication
from services.quota.domain import SessionQuota
from shared.events import BookingRequested, DeadLetter, Slot, subject_for
from shared.runtime.bus import ensure_streams
from shared.runtime.consumer import BatchConsumer, ConsumerSpec

SLOT = Slot(office="GRESIK", date=bookable_day(5), session="pagi")


class Worker:
    """A quota store behind a consumer whose handling of one booking fails while `broken` holds."""

    def __init__(self, js) -> None:  # noqa: ANN001
        self.app = QuotaApplication(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
        self.writer = ThreadPoolExecutor(1)
        self.broken: set[uuid.UUID] = set()
        spec = ConsumerSpec("PASPOR_BOOKING", "quota-test", ["paspor.booking.>"], attempts=2, backoff=(0.05,))
        self.consumer = BatchConsumer(js, spec, self.handle, "quota")

    async def handle(self, messages) -> None:  # noqa: ANN001
        if any(m.booking_id in self.broken for m in messages):
            raise RuntimeError("a bug in deciding this request")
        await asyncio.get_running_loop().run_in_executor(self.writer, self.app.apply_batch, messages, NOW)

    def booked(self) -> int:
        try:
            return self.app.repository.get(SessionQuota.id_for(SLOT.office, SLOT.date, SLOT.session.value)).booked
        except AggregateNotFoundError:  # no request decided yet
            return 0


async def until(predicate, timeout: float = 10) -> None:  # noqa: ANN001
    for _ in range(int(timeout / 0.05)):
        if predicate():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("not in time")


async def test_a_parked_request_is_listed_with_its_reason_and_a_replay_gets_it_decided(nats_server: NatsServer):
    nc = await nats.connect(nats_server.url)
    js = nc.jetstream()
    await ensure_streams(js)
    worker = Worker(js)
    running = asyncio.create_task(worker.consumer.run())
    requests = [BookingRequested(booking_id=uuid.uuid4(), slot=SLOT, applicants=1) for _ in range(3)]
    stuck = requests[1]
    worker.broken.add(stuck.booking_id)
    for request in requests:
        await js.publish(subject_for(request, SLOT.office), request.model_dump_json().encode())
    await until(lambda: worker.consumer.dead_lettered == 1 and worker.booked() == 2)
    runner, url = CliRunner(), ["--nats-url", nats_server.url]

    listed = await asyncio.to_thread(runner.invoke, cli, ["deadletter", "list", "--json", *url])
    shown = await asyncio.to_thread(runner.invoke, cli, ["deadletter", "show", "1", *url])
    (letter,) = [json.loads(line) for line in listed.output.splitlines()]
    assert (letter["sequence"], letter["source"], letter["attempts"]) == (1, "consumer:quota-test", 2)
    assert "a bug in deciding this request" in letter["reason"] and letter["booking_ids"] == [str(stuck.booking_id)]
    assert letter["subject"] == subject_for(stuck, SLOT.office), "where it came from, to be sent again"
    assert str(stuck.booking_id) in shown.output

    worker.broken.clear()  # the fix is deployed
    replayed = await asyncio.to_thread(runner.invoke, cli, ["deadletter", "replay", "1", *url])
    assert replayed.exit_code == 0, replayed.output
    await until(lambda: worker.booked() == 3)
    again = await asyncio.to_thread(runner.invoke, cli, ["deadletter", "replay", "1", *url])
    empty = await asyncio.to_thread(runner.invoke, cli, ["deadletter", "list", *url])
    running.cancel()
    await asyncio.gather(running, return_exceptions=True)
    await nc.close()

    assert worker.booked() == 3, "decided once, through the worker's normal path"
    assert again.exit_code == 1 and "no dead letter #1" in again.output, "a replay is not done twice"
    assert "no dead letters" in empty.output


async def test_discarding_needs_a_reason_and_a_relay_letter_cannot_be_replayed_from_the_stream(nats_server: NatsServer):
    nc = await nats.connect(nats_server.url)
    js = nc.jetstream()
    await ensure_streams(js)
    letter = DeadLetter(service="quota", source="relay:quota", subject="", reason="ValidationError", position=7)
    await js.publish("paspor.deadletter.quota", letter.model_dump_json().encode())
    await nc.close()
    runner, url = CliRunner(), ["--nats-url", nats_server.url]

    replayed = await asyncio.to_thread(runner.invoke, cli, ["deadletter", "replay", "1", *url])
    unexplained = await asyncio.to_thread(runner.invoke, cli, ["deadletter", "discard", "1", *url])
    discarded = await asyncio.to_thread(runner.invoke, cli, ["deadletter", "discard", "1", "--reason", "fixed", *url])

    assert replayed.exit_code == 1 and "relay:quota" in replayed.output
    assert unexplained.exit_code == 2 and "--reason" in unexplained.output
    assert discarded.exit_code == 0 and "discarded #1" in discarded.output
