"""Tracing's plumbing: who samples, what a message carries, what a stored event keeps, what the files and logs say."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, event
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.trace import Link, SpanContext, TraceFlags
from pydantic import ValidationError

from shared.runtime import hops, tracing
from shared.runtime.settings import CommonSettings
from shared.runtime.store import store_env

PARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
UNSAMPLED = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00"


@pytest.fixture
def recorded(tmp_path: Path):
    """Tracing on for this process, its spans in a file under tmp_path; off again afterwards."""
    settings = CommonSettings(data_dir=tmp_path, trace_sample=1.0)
    provider = tracing.configure("test-service", settings)
    assert provider is not None
    yield lambda: _spans(provider, tmp_path)
    tracing.shutdown()


def _spans(provider: TracerProvider, folder: Path) -> list[dict]:
    provider.force_flush()
    return [json.loads(line) for path in (folder / "traces").glob("*.jsonl") for line in path.read_text().splitlines()]


def sampled_link(sampled: bool) -> Link:
    flags = TraceFlags(TraceFlags.SAMPLED if sampled else 0)
    return Link(SpanContext(0x1234, 0x5678, is_remote=True, trace_flags=flags))


def test_a_service_starts_no_trace_of_its_own_but_records_a_batch_that_carries_a_sampled_booking():
    service = tracing.sampler(1.0, decides=False)

    alone = service.should_sample(None, 0xABC, "sql statement")
    batch = service.should_sample(None, 0xABC, "quota commit batch", links=[sampled_link(False), sampled_link(True)])
    unsampled_batch = service.should_sample(None, 0xABC, "quota commit batch", links=[sampled_link(False)])

    assert not alone.decision.is_sampled()
    assert batch.decision.is_sampled()
    assert not unsampled_batch.decision.is_sampled()


async def test_the_gateway_traces_its_share_of_the_requests_and_lets_the_others_past_the_instrumentation():
    from fastapi import FastAPI
    from opentelemetry.trace import get_current_span

    from services.gateway.sampling import SamplingGate

    seen: list[bool] = []
    api = FastAPI()
    api.get("/v1/x")(lambda: seen.append(get_current_span().is_recording()))
    gate = SamplingGate(api, TracerProvider(sampler=tracing.sampler(0.3, decides=True)), 0.3)
    gate.draw = iter([0.1, 0.5, 0.29, 0.9]).__next__

    async def receive() -> dict:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict) -> None:
        pass

    for _ in range(4):
        scope = {"type": "http", "method": "GET", "path": "/v1/x", "headers": [], "query_string": b""}
        await gate(
            scope | {"http_version": "1.1", "scheme": "http", "server": ("t", 80), "root_path": ""}, receive, send
        )

    assert seen == [True, False, True, False]


def test_only_a_well_formed_sampled_traceparent_is_a_parent():
    assert hops.span_context(PARENT) is not None
    for wrong in (
        None,
        "",
        UNSAMPLED,
        "00-zzzz",
        PARENT.replace("0af7", "zzzz"),
        "00-" + "0" * 32 + "-" + "1" * 16 + "-01",
    ):
        assert hops.span_context(wrong) is None, wrong


def test_nothing_is_recorded_when_tracing_is_off():
    hops.use(None)
    assert hops.start("booking request", PARENT) is None
    assert hops.current() is None
    assert hops.group("booking requests", [("b", PARENT, None)]) is not None  # built, but holds no span
    assert hops.group("booking requests", [("b", PARENT, None)]).contexts == {}  # type: ignore[union-attr]


def test_a_message_about_one_booking_carries_its_traceparent_and_a_batch_message_each_of_its_bookings():
    one, two = uuid.uuid4(), uuid.uuid4()

    class Decision:
        def __init__(self, booking_id):
            self.booking_id = booking_id

    class Decided:
        decisions = [Decision(one), Decision(two)]

    class Requested:
        booking_id = one

    contexts = {str(one): PARENT}
    single = hops.outgoing(Requested(), contexts, {"Nats-Msg-Id": "x"})
    batch = hops.outgoing(Decided(), contexts, {"Nats-Msg-Id": "y"})

    assert single == {"Nats-Msg-Id": "x", "traceparent": PARENT}
    assert batch == {"Nats-Msg-Id": "y", "paspor-traces": f"{one}={PARENT}"}
    assert hops.carried(batch, Decision(one)) == PARENT
    assert hops.carried(batch, Decision(two)) is None
    assert hops.carried(None, Requested()) is None


class Order(Aggregate):
    """A stand-in aggregate about one booking."""

    def __init__(self, booking_id: uuid.UUID) -> None:
        self.booking_id = booking_id

    @event("Confirmed")
    def confirm(self, booking_id: uuid.UUID) -> None:
        self.confirmed = True


def application(tmp_path: Path) -> Application:
    return Application(env=store_env(CommonSettings(data_dir=tmp_path, event_store="sqlite"), "orders"))


def test_a_stored_event_keeps_the_context_of_the_hop_that_saved_it_and_the_domain_never_sees_it(tmp_path, recorded):
    app, booking = application(tmp_path), uuid.uuid4()
    order = Order(booking)
    token = hops.under({str(booking): PARENT})
    try:
        app.save(order)
    finally:
        hops.reset(token)
    hops.STORED.traces.clear()  # as after a restart: only the store remembers

    reread = application(tmp_path)
    created = reread.recorder.select_notifications(start=1, limit=10)[0]
    stored_event = reread.mapper.to_domain_event(created)

    assert "_trace" not in vars(stored_event), "the domain event is as it was"
    assert hops.STORED.take(stored_event) == {str(booking): PARENT}, "the relay finds the context"
    assert reread.repository.get(order.id).booking_id == booking  # the aggregate rebuilds as before


def test_an_event_saved_outside_any_traced_hop_stores_nothing_more(tmp_path, recorded):
    app = application(tmp_path)
    app.save(Order(uuid.uuid4()))
    notification = app.recorder.select_notifications(start=1, limit=1)[0]

    assert b"_trace" not in notification.state


def test_spans_go_to_a_json_lines_file_with_their_booking_wait_and_links(recorded):
    span = hops.start("booking request", PARENT, booking="b-1", wait="commit")
    assert span is not None
    span.end()
    group = hops.group("quota commit", [("b-1", PARENT, hops.now())])
    assert group is not None
    group.end()

    spans = {s["name"]: s for s in recorded()}

    assert spans["booking request"]["trace_id"] == PARENT[3:35]
    assert spans["booking request"]["parent_id"] == PARENT[36:52]
    assert spans["booking request"]["attributes"] == {"paspor.wait": "commit", "paspor.booking_id": "b-1"}
    assert spans["quota commit queued"]["attributes"]["paspor.wait"] == "queue"
    assert spans["quota commit batch"]["parent_id"] is None
    assert spans["quota commit batch"]["links"] == [{"trace_id": PARENT[3:35], "span_id": PARENT[36:52]}]


def test_a_full_trace_file_drops_later_spans(tmp_path):
    exporter = tracing.JsonLinesExporter(tmp_path / "x.jsonl", max_bytes=10)
    provider = TracerProvider()
    span = provider.get_tracer("t").start_span("big")
    span.end()

    exporter.export([span])  # type: ignore[list-item]

    assert not (tmp_path / "x.jsonl").exists()


def test_log_lines_carry_the_trace_id_as_text_or_json(recorded):
    record = logging.LogRecord("booking", logging.INFO, __file__, 1, "left to the pipeline", None, None)
    span = hops.start("booking request", PARENT)
    token = hops.as_current(span)
    try:
        text = tracing.TraceFormatter(tracing.TEXT_FORMAT).format(record)
        line = json.loads(tracing.JsonFormatter().format(record))
    finally:
        hops.detach(token)
    outside = tracing.TraceFormatter(tracing.TEXT_FORMAT).format(record)

    assert f"[{PARENT[3:35]}]" in text and "left to the pipeline" in text
    assert line["trace_id"] == PARENT[3:35] and line["message"] == "left to the pipeline"
    assert "[-]" in outside


@pytest.mark.parametrize(
    ("variable", "value"),
    [("trace_exporter", "jaeger"), ("trace_sample", "1.5"), ("log_format", "xml"), ("trace_file_mb", "0")],
)
def test_a_bad_tracing_setting_is_refused_clearly(variable, value, monkeypatch):
    monkeypatch.setenv(f"PASPOR_{variable.upper()}", value)
    with pytest.raises(ValidationError, match=variable):
        CommonSettings()


def test_paspor_trace_refuses_a_bad_booking_id_and_says_when_no_trace_names_a_booking(tmp_path):
    def trace(booking_id: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "paspor", "trace", booking_id, "--data-dir", str(tmp_path)]
        return subprocess.run(command, capture_output=True, text=True, timeout=60)

    bad, unknown = trace("not-a-booking"), trace(str(uuid.uuid4()))

    assert bad.returncode == 2 and "not a booking id" in bad.stdout
    assert unknown.returncode == 1 and "no trace names booking" in unknown.stdout
