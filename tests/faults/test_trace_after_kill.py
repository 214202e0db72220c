"""kill -9 of the quota worker mid-flight: the booking's trace goes on through the recovery path.

The worker stores its decision of the first booking and dies (its fault hook: SIGKILL before answering),
losing the spans it had not written yet. The booking service's question goes unanswered, the worker is
started again (as `paspor up` does), its relay publishes the stored decision from its event store, and
the asynchronous pipeline finishes the booking. The context stored with the decision carries the trace
across the kill: the pipeline's hops, through to the notifier's ticket, are in the booking's one trace.
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from support import bookable_day, booking_body, sign_in, signing

from paspor.embedded import EmbeddedSystem
from paspor.natsserver import free_port
from paspor.traces import Trace, read_spans, traces_of

HOOK = "PASPOR_QUOTA_FAULT_CRASH_AFTER_DECISIONS"
RECOVERY = [
    ("booking relay publish", "booking-outcomes fetch"),  # BookingConfirmed, recorded by the pipeline
    ("notifier fetch", "booking relay publish"),
    ("notifier relay publish", "notifier fetch"),  # TicketIssued
]


@pytest.fixture
def quota_dies_at_its_first_decision(tmp_path: Path) -> Iterator[EmbeddedSystem]:
    env = {HOOK: "1", "PASPOR_TRACE_SAMPLE": "1", "PASPOR_GATEWAY_OUTCOME_WAIT": "20"}
    system = EmbeddedSystem(tmp_path / "data", gateway_port=free_port(), env=env)
    system.start()
    del system.extra_env[HOOK]  # started again without the hook
    quota, stopping = system.children["quota"], threading.Event()

    def supervise() -> None:  # what `paspor up` does for a dead service
        while not stopping.wait(0.2):
            system.revive()

    watcher = threading.Thread(target=supervise, daemon=True)
    watcher.start()
    yield system
    stopping.set()
    watcher.join()
    system.stop()
    assert quota.returncode == -signal.SIGKILL, "the quota worker died by kill -9"


def whole_trace(data_dir: Path, booking_id: str, patience: float = 30.0) -> Trace:
    deadline = time.monotonic() + patience
    while True:
        traces = traces_of(booking_id, read_spans(data_dir))
        names = {s.name for t in traces for s in t.spans}
        wanted = {"booking ask quota", "gateway answer", "notifier relay publish", "booking-outcomes fetch"}
        if wanted <= names or time.monotonic() > deadline:  # each process writes its spans every half second
            assert len(traces) == 1, f"one trace names the booking, not {len(traces)}"
            return traces[0]
        time.sleep(0.5)


def test_the_trace_of_a_booking_goes_on_through_the_recovery_path_after_quota_is_killed(
    quota_dies_at_its_first_decision,
):
    system = quota_dies_at_its_first_decision
    with signing(httpx.Client(base_url=system.gateway_url, timeout=60)) as client:
        citizen = sign_in(client, "killed-mid-flight@example.com")
        answer = client.post(
            "/v1/bookings",
            json=booking_body("DENPASAR", bookable_day(5), "siang", serial=41),
            headers=citizen.headers("kill-trace-0001"),
        )
    assert answer.status_code == 201 and answer.json()["status"] == "confirmed", answer.text

    found = whole_trace(system.data_dir, answer.json()["booking_id"])

    by_id = {s.span_id: s for s in found.spans}
    asked = [s for s in found.spans if s.name == "booking ask quota"]
    assert len(asked) == 1 and asked[0].error, "the fast path's question went unanswered"
    assert not any(s.name == "booking decisions" for s in found.spans), "no fast-path answer was recorded"
    for hop, parent in RECOVERY:
        assert any(s.name == hop and s.parent_id in by_id and by_id[s.parent_id].name == parent for s in found.spans), (
            f"{hop} under {parent}"
        )
    orphans = {s.name for s in found.spans if s.parent_id is not None and s.parent_id not in by_id}
    assert orphans <= {"quota relay publish", "booking-outcomes fetch"}, (
        "only the hops that continue the killed worker's (unwritten) spans miss their parent"
    )
    answered = [s.attributes.get("paspor.status") for s in found.spans if s.name == "gateway answer"]
    assert answered == ["confirmed"], "the gateway answered with the pipeline's outcome, in the same trace"
