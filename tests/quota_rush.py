"""A rush of booking requests straight onto JetStream, and what the quota service answered."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import nats
from nats.js import api

from paspor.embedded import die_with_parent
from shared.events import BookingRequested, Slot, SlotsDecided, subject_for
from shared.runtime.bus import ensure_streams


def start_worker(nats_url: str, data_dir: Path, owned: str = "all", **env: str) -> subprocess.Popen[bytes]:
    """A quota worker process, as `paspor up` or compose would start it."""
    environment = (
        os.environ
        | {
            "PASPOR_NATS_URL": nats_url,
            "PASPOR_DATA_DIR": str(data_dir),
            "PASPOR_EVENT_STORE": "sqlite",
            "PASPOR_QUOTA_PARTITIONS_OWNED": owned,
        }
        | env
    )  # env may choose another store (PASPOR_EVENT_STORE, PASPOR_POSTGRES_URL)
    log_path = data_dir / f"quota-{owned.replace(',', '_')}-{uuid.uuid4().hex[:6]}.log"
    with open(log_path, "wb") as log:
        worker = subprocess.Popen(
            [sys.executable, "-m", "paspor", "service", "quota"],
            env=environment,
            stdout=log,
            stderr=subprocess.STDOUT,
            preexec_fn=die_with_parent,
        )
    worker.log_path = log_path  # type: ignore[attr-defined]
    return worker


def stop(workers: list[subprocess.Popen[bytes]], timeout: float = 60) -> None:
    """SIGTERM, then SIGKILL for a worker that does not stop in time (the tests judge the data, not this)."""
    for worker in workers:
        worker.terminate()
    for worker in workers:
        try:
            worker.wait(timeout)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()


def wait_ready(workers: list[subprocess.Popen[bytes]], timeout: float = 30) -> None:
    """Wait until every worker logged that it is ready (so that they really race)."""
    import time

    deadline = time.monotonic() + timeout
    logs = [w.log_path for w in workers]
    while time.monotonic() < deadline:
        if all(b"quota ready" in log.read_bytes() for log in logs):
            return
        time.sleep(0.1)
    raise TimeoutError("quota workers did not become ready")


def make_requests(slots: list[Slot], per_slot: int) -> list[BookingRequested]:
    """Interleaved requests: the sessions fill at the same time, as in a real rush."""
    return [
        BookingRequested(booking_id=uuid.uuid4(), slot=slot, applicants=1) for _ in range(per_slot) for slot in slots
    ]


async def publish(
    nats_url: str,
    requests: list[BookingRequested],
    duplicates: bool = False,
    chunk: int = 200,
    pause: float = 0.0,
    acknowledged: list[str] | None = None,
) -> None:
    """Publish every request until JetStream acknowledged it (retrying through server restarts).

    With `duplicates`, each request is also published a second time under another message id,
    so JetStream cannot drop it: the quota service's own idempotency must. `acknowledged` collects
    the booking ids JetStream has acknowledged so far (so a test can watch the rush progress).
    """
    nc = await nats.connect(nats_url, max_reconnect_attempts=-1, reconnect_time_wait=0.2)
    js = nc.jetstream()
    await _until_ok(lambda: ensure_streams(js))
    for start in range(0, len(requests), chunk):
        part = requests[start : start + chunk]
        await asyncio.gather(*(_publish_one(js, r, str(r.message_id), acknowledged) for r in part))
        if duplicates:
            await asyncio.gather(*(_publish_one(js, r, f"dup-{r.message_id}") for r in part))
        await asyncio.sleep(pause)
    await nc.close()


async def _publish_one(
    js,  # noqa: ANN001
    request: BookingRequested,
    msg_id: str,
    acknowledged: list[str] | None = None,
) -> None:
    subject = subject_for(request, request.slot.office)
    data = request.model_dump_json().encode()
    await _until_ok(lambda: js.publish(subject, data, headers={"Nats-Msg-Id": msg_id}, timeout=5))
    if acknowledged is not None:
        acknowledged.append(str(request.booking_id))


async def _until_ok(call, attempts: int = 300):  # noqa: ANN001, ANN202
    for _ in range(attempts - 1):
        try:
            return await call()
        except (nats.errors.Error, OSError):
            await asyncio.sleep(0.2)
    return await call()


@dataclass
class Outcomes:
    """Every decision the quota service published, by booking."""

    by_booking: dict[str, list[dict]] = field(default_factory=lambda: defaultdict(list))

    def reserved(self) -> dict[str, dict]:
        return {b: o[0] for b, o in self.by_booking.items() if o[0]["type"] == "SlotReserved"}

    def decided_more_than_once(self) -> dict[str, list[str]]:
        """The bookings with a second outcome, and what each outcome was."""
        return {b: [o["type"] for o in outcomes] for b, outcomes in self.by_booking.items() if len(outcomes) > 1}

    def numbers_by_session(self) -> dict[tuple, list[int]]:
        sessions: dict[tuple, list[int]] = defaultdict(list)
        for outcome in self.reserved().values():
            slot = outcome["slot"]
            sessions[(slot["office"], slot["date"], slot["session"])].append(outcome["queue_number"])
        return sessions


def assert_one_outcome_each(outcomes: Outcomes, requests: list[BookingRequested]) -> None:
    """Every request has an outcome, no booking has two, and nothing was decided that nobody asked for."""
    asked = {str(r.booking_id) for r in requests}
    missing = asked - set(outcomes.by_booking)
    assert not missing, f"{len(missing)} of {len(asked)} requests have no outcome, e.g. {sorted(missing)[:3]}"
    assert outcomes.decided_more_than_once() == {}, "a booking was decided more than once"
    assert set(outcomes.by_booking) == asked, "outcomes for bookings nobody requested"


async def read_outcomes(nats_url: str, expected: int, timeout: float = 90, quiet: float = 2.0) -> Outcomes:
    """Every decision on the quota stream, from its first message to its last.

    Reading goes on after `expected` bookings have an outcome, until the stream has been quiet for
    `quiet` seconds (twice a relay's idle wake-up, 1 s) and everything up to its last sequence was
    read: a second, later decision for a booking is seen, and fails the tests that count outcomes.
    """
    nc = await nats.connect(nats_url, max_reconnect_attempts=-1)
    js = nc.jetstream()
    sub = await js.pull_subscribe(
        "paspor.quota.>",
        durable=None,
        stream="PASPOR_QUOTA",
        config=api.ConsumerConfig(deliver_policy=api.DeliverPolicy.ALL, ack_policy=api.AckPolicy.NONE),
    )
    outcomes, read_up_to = Outcomes(), 0
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        decided = len(outcomes.by_booking) >= expected
        try:
            messages = await sub.fetch(1000, timeout=quiet if decided else 1)
        except (TimeoutError, nats.errors.TimeoutError):  # fetch raises either when nothing came
            if decided and read_up_to >= (await js.stream_info("PASPOR_QUOTA")).state.last_seq:
                break
            continue
        for msg in messages:
            read_up_to = msg.metadata.sequence.stream
            if msg.subject.endswith(".decided"):
                for single in SlotsDecided.model_validate_json(msg.data).expand():
                    body = json.loads(single.model_dump_json())
                    outcomes.by_booking[body["booking_id"]].append(body)
    await nc.close()
    return outcomes
