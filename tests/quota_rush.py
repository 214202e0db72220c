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
    nats_url: str, requests: list[BookingRequested], duplicates: bool = False, chunk: int = 200, pause: float = 0.0
) -> None:
    """Publish every request until JetStream acknowledged it (retrying through server restarts).

    With `duplicates`, each request is also published a second time under another message id,
    so JetStream cannot drop it: the quota service's own idempotency must.
    """
    nc = await nats.connect(nats_url, max_reconnect_attempts=-1, reconnect_time_wait=0.2)
    js = nc.jetstream()
    await _until_ok(lambda: ensure_streams(js))
    for start in range(0, len(requests), chunk):
        part = requests[start : start + chunk]
        await asyncio.gather(*(_publish_one(js, r, str(r.message_id)) for r in part))
        if duplicates:
            await asyncio.gather(*(_publish_one(js, r, f"dup-{r.message_id}") for r in part))
        await asyncio.sleep(pause)
    await nc.close()


async def _publish_one(js, request: BookingRequested, msg_id: str) -> None:  # noqa: ANN001
    subject = subject_for(request, request.slot.office)
    data = request.model_dump_json().encode()
    await _until_ok(lambda: js.publish(subject, data, headers={"Nats-Msg-Id": msg_id}, timeout=5))


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

    def numbers_by_session(self) -> dict[tuple, list[int]]:
        sessions: dict[tuple, list[int]] = defaultdict(list)
        for outcome in self.reserved().values():
            slot = outcome["slot"]
            sessions[(slot["office"], slot["date"], slot["session"])].append(outcome["queue_number"])
        return sessions


async def read_outcomes(nats_url: str, expected: int, timeout: float = 90) -> Outcomes:
    """Read the quota stream from the start until `expected` bookings have an outcome (or time runs out)."""
    nc = await nats.connect(nats_url, max_reconnect_attempts=-1)
    js = nc.jetstream()
    sub = await js.pull_subscribe(
        "paspor.quota.>",
        durable=None,
        stream="PASPOR_QUOTA",
        config=api.ConsumerConfig(deliver_policy=api.DeliverPolicy.ALL, ack_policy=api.AckPolicy.NONE),
    )
    outcomes = Outcomes()
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while len(outcomes.by_booking) < expected and loop.time() < deadline:
        try:
            for msg in await sub.fetch(1000, timeout=1):
                if msg.subject.endswith(".decided"):
                    for single in SlotsDecided.model_validate_json(msg.data).expand():
                        body = json.loads(single.model_dump_json())
                        outcomes.by_booking[body["booking_id"]].append(body)
        except (TimeoutError, nats.errors.TimeoutError):  # fetch raises either when nothing came
            continue
    await nc.close()
    return outcomes
