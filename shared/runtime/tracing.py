"""Tracing setup for one process: the OpenTelemetry provider, its sampler and exporter, and logs that name the trace.

The sampling decision is taken once, where a booking enters (the gateway: `PASPOR_TRACE_SAMPLE` of its
requests), and travels with the trace context; a service records a span only under a sampled parent, or
for a batch that carries a sampled message (the batch's own span, linked to each). An unsampled booking
costs each hop a look at one header. Spans go to a JSON-lines file per process in the data folder
(`traces/`, read by `paspor trace`), to an OTLP endpoint (Jaeger, Tempo, a Collector), or nowhere.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult
from opentelemetry.sdk.trace.sampling import (
    ALWAYS_ON,
    Decision,
    ParentBased,
    Sampler,
    SamplingResult,
    TraceIdRatioBased,
)
from opentelemetry.trace import Link, SpanKind
from opentelemetry.util.types import Attributes

from .settings import CommonSettings

log = logging.getLogger(__name__)
TRACE_FOLDER = "traces"
_state: dict[str, Any] = {"provider": None, "service": None}


class RootSampler(Sampler):
    """A span with no parent: sampled when it links to a sampled message (a batch), else at `ratio` (0: never)."""

    def __init__(self, ratio: float) -> None:
        self.ratio = TraceIdRatioBased(ratio) if ratio > 0 else None

    def should_sample(
        self,
        parent_context: Context | None,
        trace_id: int,
        name: str,
        kind: SpanKind | None = None,
        attributes: Attributes = None,
        links: Sequence[Link] | None = None,
        trace_state: Any = None,
    ) -> SamplingResult:
        if links and any(link.context.trace_flags.sampled for link in links):
            return SamplingResult(Decision.RECORD_AND_SAMPLE, attributes)
        if self.ratio is not None:
            return self.ratio.should_sample(parent_context, trace_id, name, kind, attributes, links, trace_state)
        return SamplingResult(Decision.DROP)

    def get_description(self) -> str:
        return f"RootSampler({self.ratio.get_description() if self.ratio else 'links only'})"


def sampler(ratio: float, decides: bool) -> Sampler:
    """Where bookings enter (`decides`: the gateway, whose sampling gate has drawn `ratio` of its requests
    already, a client's own sampled traceparent included), every new trace; elsewhere the parent's word."""
    if decides:
        return ParentBased(ALWAYS_ON)
    return ParentBased(RootSampler(0), remote_parent_sampled=ALWAYS_ON)


class JsonLinesExporter(SpanExporter):
    """Appends finished spans to a JSON-lines file, one compact line per span, up to `max_bytes`."""

    def __init__(self, path: Path, max_bytes: int) -> None:
        self.path, self.max_bytes = path, max_bytes
        self.written = path.stat().st_size if path.exists() else 0
        self._lock = threading.Lock()
        self._full_told = False

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        text = "".join(json.dumps(span_record(s), separators=(",", ":")) + "\n" for s in spans)
        with self._lock:
            if self.written + len(text) > self.max_bytes:
                if not self._full_told:
                    log.warning("trace file %s reached its limit; later spans are dropped", self.path)
                    self._full_told = True
                return SpanExportResult.SUCCESS
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a", encoding="utf-8") as file:
                file.write(text)
            self.written += len(text)
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        pass


def span_record(span: ReadableSpan) -> dict[str, Any]:
    """One span as `paspor trace` reads it: ids in hex, times in Unix nanoseconds."""
    context, parent = span.context, span.parent
    assert context is not None  # a span the SDK made always has one
    record: dict[str, Any] = {
        "trace_id": f"{context.trace_id:032x}",
        "span_id": f"{context.span_id:016x}",
        "parent_id": f"{parent.span_id:016x}" if parent else None,
        "name": span.name,
        "service": span.resource.attributes.get("service.name"),
        "start": span.start_time,
        "end": span.end_time,
        "attributes": dict(span.attributes or {}),
    }
    if span.links:
        record["links"] = [
            {"trace_id": f"{link.context.trace_id:032x}", "span_id": f"{link.context.span_id:016x}"}
            for link in span.links
        ]
    if not span.status.is_ok:
        record["error"] = span.status.description or "error"
    return record


def trace_folder(data_dir: Path) -> Path:
    return data_dir / TRACE_FOLDER


def exporter_for(settings: CommonSettings, service: str) -> SpanExporter | None:
    if settings.trace_exporter == "otlp":  # OTEL_EXPORTER_OTLP_ENDPOINT (or _TRACES_ENDPOINT) says where
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        return OTLPSpanExporter()
    if settings.trace_exporter == "file":
        path = trace_folder(settings.data_dir) / f"{service}-{os.getpid()}.jsonl"
        return JsonLinesExporter(path, settings.trace_file_mb * 1024 * 1024)
    return None


def configure(service: str, settings: CommonSettings, decides: bool = False) -> TracerProvider | None:
    """Set up this process's tracing (once; again for another service run in the same process) and its logs."""
    configure_logs(settings.log_format)
    if _state["service"] == service:
        return _state["provider"]
    shutdown()
    exporter = exporter_for(settings, service)
    if exporter is None:
        from . import hops

        hops.use(None)
        return None
    provider = TracerProvider(
        sampler=sampler(settings.trace_sample, decides), resource=Resource.create({"service.name": service})
    )
    # Written in the background every half second: a process killed with -9 loses at most that much.
    provider.add_span_processor(BatchSpanProcessor(exporter, max_queue_size=20_000, schedule_delay_millis=500))
    _state.update(provider=provider, service=service)
    from . import hops

    hops.use(provider.get_tracer("paspor"))
    return provider


def shutdown() -> None:
    """Write what is left and stop exporting (a service stopping)."""
    provider: TracerProvider | None = _state["provider"]
    if provider is not None:
        provider.shutdown()
    _state.update(provider=None, service=None)
    from . import hops

    hops.use(None)


def instrument_psycopg(provider: TracerProvider) -> None:
    """SQL statements as spans under the hop (or batch) that runs them: the standard psycopg instrumentation."""
    from opentelemetry.instrumentation.psycopg import PsycopgInstrumentor

    instrumentor = PsycopgInstrumentor()
    if not instrumentor.is_instrumented_by_opentelemetry:
        instrumentor.instrument(tracer_provider=provider, skip_dep_check=True)


class TraceFormatter(logging.Formatter):
    """Text log lines with the trace id of the span they were written in (`-` outside any)."""

    def format(self, record: logging.LogRecord) -> str:
        record.trace_id = trace_id_now()
        return super().format(record)


class JsonFormatter(logging.Formatter):
    """One JSON object per log line: time, level, logger, message, trace id (and the error, if any)."""

    def format(self, record: logging.LogRecord) -> str:
        line = {
            "time": self.formatTime(record),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "trace_id": trace_id_now(),
        }
        if record.exc_info:
            line["error"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False)


def trace_id_now() -> str:
    context = trace.get_current_span().get_span_context()
    return f"{context.trace_id:032x}" if context.is_valid else "-"


TEXT_FORMAT = "%(asctime)s %(levelname)-7s %(name)s [%(trace_id)s]: %(message)s"


def configure_logs(log_format: str) -> None:
    """Give every handler of the root logger the trace-aware formatter (text or JSON)."""
    formatter = JsonFormatter() if log_format == "json" else TraceFormatter(TEXT_FORMAT)
    for handler in logging.getLogger().handlers:
        handler.setFormatter(formatter)
