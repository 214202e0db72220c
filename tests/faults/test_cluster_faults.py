"""Faults on the distributed topology in the middle of a rush of citizens booking through two gateways.

The cluster is compose.yaml's, run as local processes: 3 NATS nodes (streams replicated 3 times),
2 quota workers, 2 booking services, a notifier, 2 gateways, and a private PostgreSQL server that
the test may restart. A NATS node crashes (and comes back), a quota worker crashes (and is started
again, as compose's restart policy does), PostgreSQL restarts. After each: every citizen has exactly
one final answer, each session confirmed exactly min(capacity, demand) bookings, no queue number
was given twice, and `paspor audit` finds the replayed stores clean.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import nats
import pytest
from cluster_rush import FINAL, Rush, accept_terms, book_all, confirmed_numbers, final_outcomes, make_rush
from support import bookable_day

from paspor.cluster.local import LocalCluster
from paspor.cluster.pgserver import PostgresUnavailable, PrivatePostgres
from shared.events import partition_of

ROOT = Path(__file__).resolve().parents[2]
CAPACITY, DEMAND = 12, 20  # per session: 8 of each session's 20 citizens are turned away
CANDIDATES = ("GRESIK", "JKT-SEL", "MALANG", "BANDUNG", "SEMARANG", "DENPASAR")


@pytest.fixture(scope="module")
def postgres() -> Iterator[PrivatePostgres]:
    """A PostgreSQL server of the test's own (the machine's is never stopped)."""
    try:
        server = PrivatePostgres().init().start()
    except (PostgresUnavailable, OSError, KeyError) as error:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"a private PostgreSQL server is required in CI: {error}")
        pytest.skip(f"cannot start a private PostgreSQL server here: {error}")
    yield server
    server.remove()


@pytest.fixture(scope="module")
def cluster(postgres: PrivatePostgres, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCluster]:
    running = LocalCluster(
        tmp_path_factory.mktemp("cluster"),
        postgres.database_url("paspor"),
        ROOT / "compose.yaml",
        env={"PASPOR_GATEWAY_RATE_ADDRESS": "100000"},
    )
    try:
        running.start()
        yield running
    finally:
        running.stop()


def offices_of_both_workers(cluster: LocalCluster) -> tuple[str, str]:
    """An office whose partition quota-1 owns, and one of quota-2's."""
    owned = {
        name: {int(p) for p in cluster.specs[name].environment["PASPOR_QUOTA_PARTITIONS_OWNED"].split(",")}
        for name in ("quota-1", "quota-2")
    }
    first = next(o for o in CANDIDATES if partition_of(o, 8) in owned["quota-1"])
    second = next(o for o in CANDIDATES if partition_of(o, 8) in owned["quota-2"])
    return first, second


def set_capacity(cluster: LocalCluster, sessions: list) -> None:  # noqa: ANN001
    token = cluster.issuer.token("operator@imigrasi.go.id", role="operator")
    for office, day, session in sessions:
        for _ in range(20):  # setting a capacity is idempotent: a busy answer (503) is asked again
            answer = httpx.put(
                f"{cluster.gateway_urls[0]}/v1/operator/offices/{office}/capacity",
                timeout=30,
                json={"date": day.isoformat(), "session": session, "capacity": CAPACITY},
                headers={"Authorization": f"Bearer {token}", "X-Device-Id": "operator-desk-01"},
            )
            if answer.status_code != 503:
                break
            time.sleep(0.5)
        assert answer.status_code == 200, answer.text


def rush_with_fault(cluster: LocalCluster, days_ahead: int, serial: int, fault: Callable[[], None]) -> Rush:
    office_a, office_b = offices_of_both_workers(cluster)
    day = bookable_day(days_ahead)
    sessions = [(office_a, day, "pagi"), (office_b, day, "siang")]
    set_capacity(cluster, sessions)
    rush = make_rush(cluster, sessions, DEMAND, serial)
    asyncio.run(accept_terms(rush))
    booking = threading.Thread(target=lambda: asyncio.run(book_all(rush)), daemon=True)
    booking.start()
    assert rush.half_sent.wait(120), "half the rush was sent"
    fault_at = time.monotonic()
    fault()
    booking.join(240)
    assert not booking.is_alive(), "every citizen got an answer"
    assert any(sent > fault_at for sent in rush.sent_at), "the fault landed in the middle of the rush"
    asyncio.run(final_outcomes(rush))
    return rush


def assert_nothing_lost_and_nothing_overbooked(rush: Rush) -> None:
    for citizen in rush.citizens:
        assert citizen.status in FINAL or citizen.refusal == "sold_out", (
            citizen.subject,
            citizen.status,
            citizen.refusal,
        )
    for session, numbers in confirmed_numbers(rush).items():
        assert sorted(numbers) == list(range(1, min(CAPACITY, DEMAND) + 1)), f"{session}: {sorted(numbers)}"


def assert_audit_is_clean(cluster: LocalCluster) -> None:
    """`paspor audit` replays the PostgreSQL stores, as an auditor would, with a booking service's settings."""
    env = os.environ | cluster.environment("booking-1")
    result = subprocess.run(
        [sys.executable, "-m", "paspor", "audit", "--format", "json", "--grace", "30"],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]


def stream_leader(cluster: LocalCluster, stream: str) -> str:
    async def ask() -> str:
        nc = await nats.connect(servers=cluster.nats.urls, **cluster.login("auditor").connect_options())
        info = await nc.jetstream().stream_info(stream)
        await nc.close()
        return info.cluster.leader

    return asyncio.run(ask())


def test_a_nats_node_crashing_mid_rush_and_coming_back_loses_nothing_and_overbooks_nothing(cluster: LocalCluster):
    victim = stream_leader(cluster, "PASPOR_BOOKING")

    def crash_the_leader() -> None:
        cluster.nats.nodes[victim].kill()
        time.sleep(3)  # the rush goes on with two nodes
        cluster.nats.nodes[victim].start()
        cluster.nats.wait_healthy(list(cluster.nats.nodes))

    rush = rush_with_fault(cluster, 10, 1, crash_the_leader)
    assert_nothing_lost_and_nothing_overbooked(rush)
    assert_audit_is_clean(cluster)
    cluster.check_processes()


def test_a_quota_worker_crashing_mid_rush_loses_nothing_and_overbooks_nothing(cluster: LocalCluster):
    def crash_quota_1() -> None:
        cluster.kill_service("quota-1")  # SIGKILL; its partitions wait in JetStream
        time.sleep(1)
        cluster.start_service("quota-1")  # what compose's restart policy does
        cluster.wait_ready(["quota-1"])

    rush = rush_with_fault(cluster, 13, 2, crash_quota_1)
    assert_nothing_lost_and_nothing_overbooked(rush)
    assert_audit_is_clean(cluster)
    cluster.check_processes()


def test_postgres_restarting_mid_rush_loses_nothing_and_overbooks_nothing(
    cluster: LocalCluster, postgres: PrivatePostgres
):
    rush = rush_with_fault(cluster, 16, 3, lambda: postgres.restart("fast"))
    assert_nothing_lost_and_nothing_overbooked(rush)
    assert_audit_is_clean(cluster)
    cluster.check_processes()
