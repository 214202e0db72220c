"""Fixtures: the pinned clock, real nats-server processes and the embedded system, each in a temporary folder."""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from support import NOW, refused_services, temporary_database

from paspor.embedded import EmbeddedSystem
from paspor.natsserver import NatsServer, free_port
from shared import clock

# The whole suite lives on one pinned day (PASPOR_TEST_TODAY): this process's clock starts there, and
# so does every service process a test starts (they read PASPOR_CLOCK_START from the environment).
STARTED = clock.wall_clock().timestamp()  # when the pinned clock reads NOW, for every process
clock.use(clock.StartedClock(NOW, STARTED))
os.environ["PASPOR_CLOCK_START"], os.environ["PASPOR_CLOCK_STARTED"] = NOW.isoformat(), str(STARTED)


def pytest_report_header() -> str:
    return f"pinned clock: {NOW.isoformat()} ({NOW:%A}; PASPOR_TEST_TODAY picks another day)"


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """How many tests ran in each tier (unit, integration, e2e, faults), and how each ended."""
    tiers: dict[str, Counter[str]] = {}
    for outcome in ("passed", "failed", "error", "skipped"):
        for report in terminalreporter.stats.get(outcome, []):
            if outcome == "passed" and report.when != "call":
                continue
            parts = Path(report.nodeid.split("::")[0]).parts
            tier = parts[1] if len(parts) > 2 and parts[0] == "tests" else "other"
            tiers.setdefault(tier, Counter())[outcome] += 1
    if tiers:
        terminalreporter.section("tests per tier")
        for tier, counts in sorted(tiers.items()):
            terminalreporter.write_line(f"{tier:<12} " + ", ".join(f"{n} {what}" for what, n in counts.items()))


@pytest.fixture
def nats_server(tmp_path: Path) -> Iterator[NatsServer]:
    """A fresh nats-server with JetStream on a free port, WITHOUT authentication: for tests of one component
    that play the other services' parts themselves (the `system` fixture runs with authentication on)."""
    server = NatsServer(tmp_path / "nats").start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def system(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedSystem]:
    """The whole embedded system (nats-server + four service processes), shared by a session.

    NATS authentication is on, as in `paspor up`: each service logs in with its own key, and a test
    that talks to NATS itself logs in as one of the system's users (`running.login(user)`). At the
    end, no service may have been refused anything it tried (its grant would be missing a subject).
    """
    proofs = {"PASPOR_GATEWAY_DEVICE_PROOF": "dpop"}  # citizens' devices prove their keys (the default, stated)
    running = EmbeddedSystem(tmp_path_factory.mktemp("system"), gateway_port=free_port(), env=proofs)
    running.start()
    yield running
    running.stop()
    assert not refused_services(running), "a service was refused by NATS:\n" + "\n".join(refused_services(running))


def postgres_required() -> bool:
    return os.environ.get("CI", "").lower() == "true"


POSTGRES_ADMIN_URL = os.environ.get("PASPOR_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres")


@pytest.fixture(scope="session")
def postgres_admin() -> str:
    """The local PostgreSQL server; skipped when unreachable, except in CI (CI=true) where that fails."""
    import psycopg

    try:
        with psycopg.connect(POSTGRES_ADMIN_URL, connect_timeout=3):
            return POSTGRES_ADMIN_URL
    except psycopg.OperationalError as error:
        if postgres_required():
            pytest.fail(f"PostgreSQL is required in CI but unreachable at {POSTGRES_ADMIN_URL}: {error}")
        pytest.skip(f"no PostgreSQL at {POSTGRES_ADMIN_URL}: {error}")


@pytest.fixture
def fresh_postgres(postgres_admin: str) -> Iterator[str]:
    """A new, empty database for one test."""
    with temporary_database(postgres_admin) as url:
        yield url


@pytest.fixture(scope="session")
def postgres_url(postgres_admin: str) -> Iterator[str]:
    """A new, empty database shared by the test session (for slower stories that only add data)."""
    with temporary_database(postgres_admin) as url:
        yield url


@pytest.fixture(params=["memory", "sqlite", "postgres"])
def store_settings(request: pytest.FixtureRequest, tmp_path: Path):
    """Settings for an event store of each backend: a behaviour written once runs on all three."""
    from shared.runtime.settings import CommonSettings

    url = request.getfixturevalue("fresh_postgres") if request.param == "postgres" else "postgresql://unused/x"
    return CommonSettings(event_store=request.param, data_dir=tmp_path, postgres_url=url)
