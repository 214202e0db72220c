"""A quota worker restarted after a rush 100 times its capacity: same decisions, from its snapshots."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import time
import uuid

import nats
from quota_rush import assert_one_outcome_each, make_requests, publish, read_outcomes, start_worker, stop, wait_ready
from support import bookable_day

from services.quota.domain import SessionQuota
from shared.events import BookingRequested, Commands, Slot, partition_of

# The worker forgets refused ids a second after deciding them, and snapshots often: what a day does
# with the 15-minute horizon, in seconds.
QUICK = {
    "PASPOR_QUOTA_DEDUPE_HORIZON_SECONDS": "1",
    "PASPOR_QUOTA_SNAPSHOT_INTERVAL": "5",
    "PASPOR_QUOTA_BATCH_SIZE": "500",
}


def forgot(worker, timeout: float = 30) -> str:  # noqa: ANN001
    """The worker's log once its sweep forgot the rush's refused ids."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        log = worker.log_path.read_text()
        if "forgot" in log:
            return log
        time.sleep(0.2)
    raise AssertionError("the worker never forgot a refused id")


async def ask_fast_path(nats_url: str, requests: list[BookingRequested]) -> list[dict]:
    """The fast path's answers (the booking service's question to the partition's owner)."""
    nc = await nats.connect(nats_url)
    subject = Commands.DECIDE_BOOKING.format(partition=partition_of(requests[0].slot.office))
    answers = []
    for request in requests:
        reply = await nc.request(subject, request.model_dump_json().encode(), timeout=30)
        answers.append(json.loads(reply.data)["decision"])
    await nc.close()
    return answers


def test_a_worker_restarted_after_a_100x_rush_answers_every_late_copy_as_before(nats_server, tmp_path):
    session = Slot(office="GRESIK", date=bookable_day(6), session="pagi")
    requests = make_requests([session], per_slot=100 * 100)  # 100 places, 10,000 requests
    first = start_worker(nats_server.url, tmp_path, **QUICK)
    try:
        wait_ready([first])
        asyncio.run(publish(nats_server.url, requests, chunk=500))
        decided = asyncio.run(read_outcomes(nats_server.url, expected=len(requests)))
        forgot(first)
    finally:
        stop([first])
    assert_one_outcome_each(decided, requests)
    assert sorted(o["queue_number"] for o in decided.reserved().values()) == list(range(1, 101))

    second = start_worker(nats_server.url, tmp_path, **QUICK)
    try:
        wait_ready([second])
        # Copies long after the horizon (new message ids: past JetStream's dedupe window), and the
        # fast path asked again for some: nothing is decided twice, each gets its first answer.
        copies = [r.model_copy(update={"message_id": uuid.uuid4()}) for r in requests]
        asyncio.run(publish(nats_server.url, copies, chunk=500))
        sample = requests[::97]
        answers = asyncio.run(ask_fast_path(nats_server.url, sample))
        again = asyncio.run(read_outcomes(nats_server.url, expected=len(requests)))
    finally:
        stop([second])
    assert_one_outcome_each(again, requests)  # no booking has a second outcome
    first_answers = [decided.by_booking[str(r.booking_id)][0] for r in sample]
    assert [(a["type"], a.get("queue_number"), a.get("reason")) for a in answers] == [
        (o["type"], o.get("queue_number"), o.get("reason")) for o in first_answers
    ]
    quota_id = SessionQuota.id_for(session.office, session.date, session.session.value)
    with sqlite3.connect(tmp_path / "quota.sqlite") as db:
        snapshots = db.execute(
            "SELECT count(*) FROM stored_snapshots WHERE originator_id = ?", (quota_id.hex,)
        ).fetchone()[0]
    assert snapshots > 0, "the restarted worker had snapshots to start from"
    assert "looked up in the store" in second.log_path.read_text(), "the copies were found in the store"
