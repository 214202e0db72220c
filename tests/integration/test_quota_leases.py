"""Two quota workers configured for the same partitions (a re-partitioning in progress), on a real nats-server.

Only the holder of a partition's lease decides it; the other waits. The story: worker B decides, worker A
waits; B is paused (as by a long stall) past its lease, A takes over and books more; A is killed and B
comes back. A cancellation sent during that handover reaches B, whose cache knew nothing of A's
bookings: it must release the slot all the same, and no cancelled booking may hold one.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import time
import uuid
from pathlib import Path

import httpx
import nats
from nats.js import api
from quota_rush import assert_one_outcome_each, make_requests, publish, read_outcomes, start_worker, stop, wait_ready
from support import bookable_day, wait_until

from paspor.natsserver import free_port
from services.quota.domain import SessionQuota
from services.quota.fence import Partition
from services.quota.leases import lease_key
from services.quota.main import QuotaSettings, build_application
from shared.events import DEFAULT_PARTITIONS, BookingCancelled, Slot, partition_of, subject_for
from shared.runtime.lease import LEASE_BUCKET, holder

SLOT = Slot(office="GRESIK", date=bookable_day(6), session="pagi")
PARTITION = partition_of(SLOT.office, DEFAULT_PARTITIONS)
KEY = lease_key(PARTITION, DEFAULT_PARTITIONS)
FAST_LEASES = {"PASPOR_QUOTA_LEASE_TTL_SECONDS": "3", "PASPOR_QUOTA_LEASE_RENEW_SECONDS": "1"}


def logged(worker, text: str, timeout: float = 30) -> None:  # noqa: ANN001
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if text.encode() in Path(worker.log_path).read_bytes():
            return
        time.sleep(0.1)
    raise AssertionError(f"{text!r} not logged:\n{Path(worker.log_path).read_text()[-3000:]}")


def metrics(port: int) -> str:
    """What Prometheus scrapes from a worker."""
    return httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text


async def lease_holder(url: str) -> str:
    nc = await nats.connect(url)
    try:
        kv = await nc.jetstream().key_value(LEASE_BUCKET)
        return holder((await kv.get(KEY)).value)
    finally:
        await nc.close()


async def cancel(url: str, booking_ids: list[str]) -> None:
    nc = await nats.connect(url)
    js = nc.jetstream()
    for booking_id in booking_ids:
        message = BookingCancelled(booking_id=uuid.UUID(booking_id), slot=SLOT, was_confirmed=True)
        subject = subject_for(message, SLOT.office)
        await js.publish(subject, message.model_dump_json().encode(), headers={"Nats-Msg-Id": str(message.message_id)})
    await nc.close()


async def released(url: str, expected: int, timeout: float = 60) -> set[str]:
    """The bookings whose slot quota released (SlotReleased on the quota stream)."""
    nc = await nats.connect(url)
    js = nc.jetstream()
    sub = await js.pull_subscribe(
        "paspor.quota.*.released",
        durable=None,
        stream="PASPOR_QUOTA",
        config=api.ConsumerConfig(deliver_policy=api.DeliverPolicy.ALL, ack_policy=api.AckPolicy.NONE),
    )
    found: set[str] = set()
    deadline = asyncio.get_running_loop().time() + timeout
    while len(found) < expected and asyncio.get_running_loop().time() < deadline:
        try:
            for msg in await sub.fetch(100, timeout=1):
                found.add(json.loads(msg.data)["booking_id"])
        except (TimeoutError, nats.errors.TimeoutError):
            continue
    await nc.close()
    return found


def test_the_second_worker_waits_for_the_lease_and_a_cancellation_during_the_handover_releases_its_slot(
    nats_server, tmp_path
):
    b = start_worker(nats_server.url, tmp_path, **FAST_LEASES)
    a = None
    try:
        wait_ready([b])
        logged(b, f"lease {KEY} taken")
        first = make_requests([SLOT], per_slot=3)
        asyncio.run(publish(nats_server.url, first))
        assert len(asyncio.run(read_outcomes(nats_server.url, expected=3)).reserved()) == 3

        port = free_port()
        a = start_worker(nats_server.url, tmp_path, **FAST_LEASES, PASPOR_QUOTA_METRICS_PORT=str(port))
        logged(a, f"lease {KEY} held by {asyncio.run(lease_holder(nats_server.url))}: waiting")
        label = f'partition="{PARTITION:02d}"'
        assert f'paspor_quota_partition_lease{{{label},state="waiting"}} 1.0' in metrics(port)
        os.kill(b.pid, signal.SIGSTOP)  # B stalls past its lease: A takes over
        logged(a, f"lease {KEY} taken")
        wait_until(
            lambda: f"paspor_quota_partition_epoch{{{label}}} 2.0" in metrics(port),
            10,
            "A's metrics say it holds the partition at epoch 2",
        )
        second = make_requests([SLOT], per_slot=2)
        asyncio.run(publish(nats_server.url, second))
        outcomes = asyncio.run(read_outcomes(nats_server.url, expected=5))
        assert_one_outcome_each(outcomes, first + second)

        a.kill()  # A dies holding the lease; B wakes up, finds its lease gone, and waits for A's to expire
        a.wait()
        os.kill(b.pid, signal.SIGCONT)
        booked_by_a, booked_by_b = str(second[0].booking_id), str(first[0].booking_id)
        asyncio.run(cancel(nats_server.url, [booked_by_a, booked_by_b]))
        assert asyncio.run(released(nats_server.url, expected=2)) == {booked_by_a, booked_by_b}
        logged(b, f"lease {KEY} lost")
    finally:
        with_signal = [w for w in (a, b) if w is not None]
        for worker in with_signal:
            if worker.poll() is None:
                os.kill(worker.pid, signal.SIGCONT)
        stop(with_signal)

    app = build_application(QuotaSettings(event_store="sqlite", data_dir=tmp_path))
    try:
        session = app.repository.get(SessionQuota.id_for(SLOT.office, SLOT.date, SLOT.session.value))
        holding = {str(r.booking_id) for r in first + second if session.queue_number(str(r.booking_id))}
        assert holding == {str(r.booking_id) for r in first[1:] + second[1:]}, "no cancelled booking holds a slot"
        fence = app.repository.get(Partition.id_for(PARTITION, DEFAULT_PARTITIONS))
        assert fence.epoch == 3, "owned by B, then A, then B again: three epochs"
        assert fence.unmatched == {}
    finally:
        app.close()
