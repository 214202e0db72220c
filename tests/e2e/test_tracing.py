"""One trace per booking: a booking through the gateway of the embedded system leaves one trace that holds every hop.

The system runs with every booking sampled (PASPOR_TRACE_SAMPLE=1) and its span files in the data folder.
The trace of one booking holds the fast path (gateway, booking request, group commit, the question to
quota, its decision and commit, the booking's commit of the answer, the gateway's answer) and the
asynchronous copies the outboxes publish all the same (each relay's publish, each consumer's fetch, the
notifier's ticket), each span under the hop that caused it; each batch has its own span, linked to
the bookings it carried, never their parent. `paspor trace` draws it as a waterfall.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from support import bookable_day, booking_body, sign_in, signing

from paspor.embedded import EmbeddedSystem
from paspor.natsserver import free_port
from paspor.traces import Trace, read_spans, traces_of

TRACED = {"PASPOR_TRACE_SAMPLE": "1"}
# (hop, the hop it must be a child of)
FAST_PATH = [
    ("gateway ask booking.request", "POST /v1/bookings"),
    ("booking request", "gateway ask booking.request"),
    ("booking requests queued", "booking request"),
    ("booking requests", "booking request"),
    ("booking ask quota", "booking request"),
    ("quota decide", "booking ask quota"),
    ("quota commit", "quota decide"),
    ("booking decisions", "booking request"),
    ("gateway answer", "POST /v1/bookings"),
]
PIPELINE = [
    ("booking relay publish", "booking requests"),  # BookingRequested, stored by the request's group commit
    ("quota-p", "booking relay publish"),  # quota fetches its copy (decided already: acked)
    ("quota relay publish", "quota commit"),  # SlotsDecided
    ("booking-outcomes fetch", "quota relay publish"),  # booking's copy of the decision (recorded already)
    ("booking relay publish", "booking decisions"),  # BookingConfirmed
    ("notifier fetch", "booking relay publish"),  # the notifier's ticket
    ("notifier relay publish", "notifier fetch"),  # TicketIssued
]


@pytest.fixture
def traced_system(tmp_path: Path) -> Iterator[EmbeddedSystem]:
    system = EmbeddedSystem(tmp_path / "data", gateway_port=free_port(), env=TRACED)
    system.start()
    yield system
    system.stop()


def book(system: EmbeddedSystem, subject: str, serial: int) -> dict:
    with signing(httpx.Client(base_url=system.gateway_url, timeout=30)) as client:
        citizen = sign_in(client, subject)
        answer = client.post(
            "/v1/bookings",
            json=booking_body("DENPASAR", bookable_day(5), "pagi", serial=serial),
            headers=citizen.headers(f"trace-key-{serial:04d}"),
        )
        assert answer.status_code == 201, answer.text
        ticket, deadline = f"/v1/bookings/{answer.json()['booking_id']}/ticket", time.monotonic() + 20
        while not client.get(ticket, headers=citizen.headers()).is_success and time.monotonic() < deadline:
            time.sleep(0.2)  # the notifier's hop ends when the ticket is issued
        return answer.json()


def trace_with(data_dir: Path, booking_id: str, hops: list[str], patience: float = 20.0) -> Trace:
    """The booking's one trace, once every hop named has been written (spans are written every half second)."""
    deadline = time.monotonic() + patience
    while True:
        traces = traces_of(booking_id, read_spans(data_dir))
        names = [s.name for t in traces for s in t.spans]
        if all(any(n.startswith(hop) for n in names) for hop in hops) or time.monotonic() > deadline:
            assert len(traces) == 1, f"one trace names the booking, not {len(traces)}"
            return traces[0]
        time.sleep(0.5)


def child_of(found: Trace, hop: str, parent: str) -> bool:
    by_id = {s.span_id: s for s in found.spans}
    return any(
        s.name.startswith(hop) and s.parent_id in by_id and by_id[s.parent_id].name.startswith(parent)
        for s in found.spans
    )


def test_a_booking_through_the_gateway_leaves_one_trace_with_every_hop_in_its_place(traced_system):
    booked = book(traced_system, "traced@example.com", 1)

    found = trace_with(traced_system.data_dir, booked["booking_id"], [h for h, _ in FAST_PATH + PIPELINE])

    root = [s for s in found.spans if s.parent_id is None]
    assert [s.name for s in root] == ["POST /v1/bookings"], "the gateway's request is the trace's root"
    assert root[0].booking == booked["booking_id"]
    missing = [(hop, parent) for hop, parent in FAST_PATH + PIPELINE if not child_of(found, hop, parent)]
    assert missing == [], "each hop sits under the hop that caused it"
    assert {s.service for s in found.spans} == {"gateway", "booking", "quota", "notifier"}


def test_a_batch_links_to_each_booking_it_carried_and_is_no_bookings_parent(traced_system):
    booked = book(traced_system, "linked@example.com", 2)

    found = trace_with(traced_system.data_dir, booked["booking_id"], [h for h, _ in FAST_PATH + PIPELINE])

    batches = {s.name for s in found.batches}
    assert {"booking requests batch", "quota commit batch", "booking relay publish batch"} <= batches
    assert all(s.trace_id != found.trace_id and s.parent_id is None for s in found.batches), "linked, not parents"
    ids = {s.span_id for s in found.batches}
    assert not any(s.parent_id in ids for s in found.spans), "no booking's hop is the child of a batch"


def test_paspor_trace_draws_the_waterfall_of_a_booking(traced_system):
    booked = book(traced_system, "waterfall@example.com", 3)
    trace_with(traced_system.data_dir, booked["booking_id"], [h for h, _ in FAST_PATH])

    shown = subprocess.run(
        [sys.executable, "-m", "paspor", "trace", booked["booking_id"], "--data-dir", str(traced_system.data_dir)],
        capture_output=True,
        text=True,
        env={"COLUMNS": "200", "PATH": "/usr/bin:/bin"},
    )

    assert shown.returncode == 0, shown.stderr
    for hop in ("POST /v1/bookings", "booking request", "quota decide", "quota commit", "gateway answer"):
        assert hop in shown.stdout
    for wait in ("queue", "commit", "ask", "publish"):
        assert wait in shown.stdout
