"""Faults in the middle of a rush: a quota worker killed with SIGKILL, the nats-server restarted
(stopped gracefully, or killed with SIGKILL). Afterwards every session holds exactly
min(capacity, demand) bookings, every request JetStream acknowledged has exactly one outcome,
and no queue number is given twice."""

from __future__ import annotations

import asyncio
import threading

import pytest
from quota_rush import (
    Outcomes,
    assert_one_outcome_each,
    make_requests,
    publish,
    read_outcomes,
    start_worker,
    stop,
    wait_ready,
)
from support import bookable_day, wait_until

from paspor.natsserver import NatsServer
from shared.events import Slot


def rush_slots() -> list[Slot]:
    day, later = bookable_day(6), bookable_day(9)
    return [
        Slot(office=o, date=d, session=s)
        for o in ("GRESIK", "JKT-SEL")
        for d in (day, later)
        for s in ("pagi", "siang")
    ]


def publishing_in_background(url: str, requests: list, acknowledged: list[str]) -> threading.Thread:  # noqa: ANN001
    """Requests keep arriving for a few seconds, so that the faults land in the middle of the rush."""
    thread = threading.Thread(
        target=lambda: asyncio.run(publish(url, requests, chunk=40, pause=0.1, acknowledged=acknowledged)),
        daemon=True,
    )
    thread.start()
    return thread


def wait_for_rush_to_reach(acknowledged: list[str], share: float, requests: list) -> None:  # noqa: ANN001
    """Wait until JetStream acknowledged `share` of the requests, and check that the rest are still to come."""
    wanted = int(share * len(requests))
    wait_until(lambda: len(acknowledged) >= wanted, 60, f"{wanted} of {len(requests)} requests acknowledged")
    assert len(acknowledged) < len(requests), "the fault must land in the middle of the rush"


def assert_rush_is_whole(outcomes: Outcomes, requests: list, per_slot: int) -> None:  # noqa: ANN001
    assert_one_outcome_each(outcomes, requests)
    sessions = outcomes.numbers_by_session()
    assert len(sessions) == len(rush_slots())
    for numbers in sessions.values():
        assert sorted(numbers) == list(range(1, min(100, per_slot) + 1)), "min(capacity, demand), numbers unique"


def test_a_worker_killed_again_and_again_mid_rush_loses_nothing_and_overbooks_nothing(nats_server, tmp_path):
    per_slot = 150
    requests = make_requests(rush_slots(), per_slot)
    worker = start_worker(nats_server.url, tmp_path, PASPOR_QUOTA_BATCH_SIZE="50")
    wait_ready([worker])
    acknowledged: list[str] = []
    publisher = publishing_in_background(nats_server.url, requests, acknowledged)
    for kill in range(1, 5):
        wait_for_rush_to_reach(acknowledged, kill / 5, requests)
        worker.kill()  # SIGKILL: no goodbye, no flush
        worker.wait()
        worker = start_worker(nats_server.url, tmp_path, PASPOR_QUOTA_BATCH_SIZE="50")
    publisher.join(120)
    try:
        outcomes = asyncio.run(read_outcomes(nats_server.url, expected=len(requests), timeout=120))
    finally:
        stop([worker])
    assert_rush_is_whole(outcomes, requests, per_slot)


@pytest.mark.parametrize("fault", ["stopped", "killed"])
def test_a_nats_server_restart_mid_rush_loses_nothing_acknowledged_and_overbooks_nothing(tmp_path, fault):
    server = NatsServer(tmp_path / "nats").start()
    per_slot = 130
    requests = make_requests(rush_slots(), per_slot)
    worker = start_worker(server.url, tmp_path, PASPOR_QUOTA_BATCH_SIZE="50")
    acknowledged: list[str] = []
    try:
        wait_ready([worker])
        publisher = publishing_in_background(server.url, requests, acknowledged)
        wait_for_rush_to_reach(acknowledged, 0.4, requests)
        if fault == "stopped":
            server.stop()  # graceful: the store is flushed
        else:
            server.kill()  # SIGKILL: no goodbye; what JetStream acknowledged must already be stored
        acknowledged_before_restart = acknowledged[:]
        server.start()  # the worker and the publisher reconnect
        publisher.join(120)
        outcomes = asyncio.run(read_outcomes(server.url, expected=len(requests), timeout=120))
    finally:
        stop([worker])
        server.stop()
    lost = [b for b in acknowledged_before_restart if len(outcomes.by_booking.get(b, [])) != 1]
    assert lost == [], (
        f"{len(lost)} of {len(acknowledged_before_restart)} acknowledged before the restart lack one outcome"
    )
    assert_rush_is_whole(outcomes, requests, per_slot)
