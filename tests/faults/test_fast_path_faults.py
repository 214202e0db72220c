"""kill -9 between quota's decision and the booking's save, in the middle of a rush through the gateway.

The fast path's riskiest moment: quota has decided (and stored) a booking, and the booking service has
not recorded it yet. Each story kills one side at exactly that moment, with the service's own fault
hook (PASPOR_BOOKING_ / PASPOR_QUOTA_FAULT_CRASH_AFTER_DECISIONS: SIGKILL at the N-th fast-path
decision), while 200 citizens book two sessions of one office day. The embedded system starts the
dead service again, as `paspor up` does (without the hook). Afterwards every citizen has exactly one
final outcome, each session confirmed exactly min(capacity, demand) bookings with unique queue
numbers, no slot is held for a booking that does not exist or is not confirmed, and `paspor audit`
(the stores replayed, and the JetStream streams checked against them) is clean.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import signal
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from gateway_rush import Citizen, book_all, citizens_for, sign_up
from support import bookable_day, signing

from paspor.audit import Scope, run_audit
from paspor.audit.jetstream import cross_check_streams
from paspor.embedded import EmbeddedSystem
from paspor.natsserver import free_port
from services.booking.main import BookingSettings

OFFICE, CAPACITY = "DENPASAR", 100  # the offices file's capacity per session
CRASH_AT = 60  # the 60th fast-path decision of 200: well inside the rush
IN_FLIGHT = 32


class Supervisor:
    """What `paspor up` does for a dead service: starts it again. Records when it died, and how.

    The watching thread lives until the system is stopped: a service is started with a parent-death
    signal, which Linux sends when the *thread* that started it ends.
    """

    def __init__(self, system: EmbeddedSystem, victim: str) -> None:
        self.system, self.victim = system, victim
        self.process = system.children[victim]
        self.died, self.stopping, self.stopped = threading.Event(), threading.Event(), threading.Event()
        self.died_at: float | None = None
        threading.Thread(target=self._watch, daemon=True).start()

    def _watch(self) -> None:
        self.process.wait()
        if self.stopping.is_set():
            return
        self.died_at = time.monotonic()
        self.died.set()
        self.system.revive()
        self.stopped.wait()

    def stop(self) -> None:
        """Stop the system; the service is not started again."""
        self.stopping.set()
        self.system.stop()
        self.stopped.set()

    @property
    def exit_code(self) -> int | None:
        return self.process.returncode


@pytest.fixture
def killed_mid_rush(tmp_path: Path) -> Iterator[Callable[[str], tuple[EmbeddedSystem, Supervisor]]]:
    """An embedded system whose `victim` kills itself at its CRASH_AT-th fast-path decision, and is revived."""
    running: list[tuple[EmbeddedSystem, Supervisor]] = []

    def start(victim: str) -> tuple[EmbeddedSystem, Supervisor]:
        hook = f"PASPOR_{victim.upper()}_FAULT_CRASH_AFTER_DECISIONS"
        env = {hook: str(CRASH_AT), "PASPOR_GATEWAY_RATE_ADDRESS": "100000"}  # every citizen comes from 127.0.0.1
        system = EmbeddedSystem(tmp_path / "system", gateway_port=free_port(), env=env)
        system.start()
        del system.extra_env[hook]  # the service started again after the kill runs without the hook
        running.append((system, Supervisor(system, victim)))
        return running[-1]

    yield start
    for _, supervisor in running:
        supervisor.stop()


def rush(system: EmbeddedSystem) -> list[Citizen]:
    """120 citizens want the morning session (20 too many), 80 the afternoon: each ends with one outcome."""
    day = bookable_day(5)
    citizens = citizens_for({(OFFICE, day, "pagi"): 120, (OFFICE, day, "siang"): 80}, serial=7)

    async def go() -> None:
        async with signing(httpx.AsyncClient(base_url=system.gateway_url, timeout=60)) as client:
            await sign_up(client, citizens)
            await book_all(client, citizens, IN_FLIGHT)

    asyncio.run(go())
    return citizens


def assert_the_kill_landed_mid_rush(supervisor: Supervisor, citizens: list[Citizen]) -> None:
    assert supervisor.died.is_set(), f"the {supervisor.victim} service never reached its crash point"
    assert supervisor.exit_code == -signal.SIGKILL, f"{supervisor.victim} died by kill -9, not otherwise"
    sent_after = [c for c in citizens if c.sent_at and supervisor.died_at and c.sent_at > supervisor.died_at]
    assert len(sent_after) >= 50, f"only {len(sent_after)} citizens booked after the kill"


def assert_every_citizen_has_one_final_outcome(system: EmbeddedSystem, citizens: list[Citizen]) -> None:
    unfinished = [(c.subject, c.status, c.answers) for c in citizens if c.status not in ("confirmed", "rejected")]
    assert unfinished == [], "every citizen's booking was decided"
    with signing(httpx.Client(base_url=system.gateway_url, timeout=30)) as client:
        for citizen in citizens:
            mine = client.get("/v1/bookings", headers=citizen.headers())
            assert mine.status_code == 200, mine.text
            held = [(b["booking_id"], b["status"], b["queue_number"]) for b in mine.json()]
            expected = [(citizen.booking_id, citizen.status, citizen.queue_number)] if citizen.booking_id else []
            assert held == expected, f"{citizen.subject}: one booking, as the citizen was told ({citizen.answers})"


def assert_each_session_confirmed_exactly_what_it_could(citizens: list[Citizen]) -> None:
    numbers: dict[tuple[str, str, str], list[int]] = defaultdict(list)
    demand = Counter(c.session for c in citizens)
    for citizen in citizens:
        if citizen.status == "confirmed":
            numbers[citizen.session].append(citizen.queue_number)
        else:
            assert citizen.reason == "sold_out", f"{citizen.subject}: refused for {citizen.reason}"
    for session, wanted in demand.items():
        assert sorted(numbers[session]) == list(range(1, min(CAPACITY, wanted) + 1)), session


def settled_audit(system: EmbeddedSystem):  # noqa: ANN201
    """`paspor audit` once the services have caught up with one another (nothing pending in a live audit)."""
    settings = BookingSettings(data_dir=system.data_dir, event_store="sqlite")
    deadline = time.monotonic() + 60
    while (pending := run_audit(settings).pending) and time.monotonic() < deadline:
        time.sleep(0.5)  # the next look at the stores, until the pipeline has finished what the rush started
    assert not pending, f"the services did not catch up with one another: {dict(pending)}"
    result = run_audit(settings, Scope(grace=dt.timedelta(0)))
    cross_check_streams(settings, result, system.nats.url, grace=dt.timedelta(seconds=5))
    return result


def assert_audit_is_clean_and_no_slot_is_held_for_nothing(system: EmbeddedSystem, citizens: list[Citizen]) -> None:
    result = settled_audit(system)
    assert result.ok, [f.as_dict() for f in result.findings[:10]]
    confirmed = sum(c.status == "confirmed" for c in citizens)
    rejected_by_quota = sum(c.status == "rejected" and c.booking_id is not None for c in citizens)
    totals = {k: result.totals[k] for k in ("bookings", "confirmed", "rejected", "requested", "slots_held")}
    assert totals == {
        "bookings": sum(c.booking_id is not None for c in citizens),
        "confirmed": confirmed,
        "rejected": rejected_by_quota,
        "requested": 0,
        "slots_held": confirmed,  # every held slot belongs to a confirmed booking, and no more
    }


def test_the_booking_service_killed_after_quota_decided_and_before_it_saved_leaves_every_citizen_one_outcome(
    killed_mid_rush,
):
    system, supervisor = killed_mid_rush("booking")

    citizens = rush(system)

    assert_the_kill_landed_mid_rush(supervisor, citizens)
    assert_every_citizen_has_one_final_outcome(system, citizens)
    assert_each_session_confirmed_exactly_what_it_could(citizens)
    assert_audit_is_clean_and_no_slot_is_held_for_nothing(system, citizens)


def test_the_quota_worker_killed_after_storing_a_decision_and_before_answering_it_leaves_every_citizen_one_outcome(
    killed_mid_rush,
):
    system, supervisor = killed_mid_rush("quota")

    citizens = rush(system)

    assert_the_kill_landed_mid_rush(supervisor, citizens)
    assert_every_citizen_has_one_final_outcome(system, citizens)
    assert_each_session_confirmed_exactly_what_it_could(citizens)
    assert_audit_is_clean_and_no_slot_is_held_for_nothing(system, citizens)
