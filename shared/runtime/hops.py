"""A booking's hops as spans: the trace context on NATS headers, in group commits, and kept with stored events.

Every helper does nothing (and allocates nothing) unless tracing is on and the trace at hand is sampled.
A hop's span is named `<service> <hop>` and says in `paspor.wait` where its time goes: `queue` (waiting
in a stream or in line for a group commit), `fetch` (a consumer's handling of what it fetched), `commit`
(a store's save), `publish` (until JetStream acknowledged), `ask` (a request/reply round trip) or `work`.

A batch (a group commit, a fetched batch, a relay's publish) gets its own span linked to every sampled
message it carries, never the child of one of them; each booking in it gets its own hop span in its own
trace. What a save stores keeps, per booking, the context of the hop that saved it (`saving`, read by
`TracedMapper` on the writer thread), so the relay's publish, even after a restart, continues the trace.
"""

from __future__ import annotations

import asyncio
import contextvars
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import Executor
from typing import Any, TypeVar

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import Link, NonRecordingSpan, Span, SpanContext, SpanKind, TraceFlags

T = TypeVar("T")
BOOKING = "paspor.booking_id"
WAIT = "paspor.wait"
TRACEPARENT = "traceparent"
TRACES = "paspor-traces"  # a message about several bookings: "<booking id>=<traceparent>;..." (sampled ones)
_tracer: list[trace.Tracer | None] = [None]
# Per booking id, the traceparent of the hop now saving it (set around a save, read by the mapper).
_saving: contextvars.ContextVar[Mapping[str, str] | None] = contextvars.ContextVar("paspor_saving", default=None)
_incoming: contextvars.ContextVar[str | None] = contextvars.ContextVar("paspor_incoming", default=None)


def use(tracer: trace.Tracer | None) -> None:
    """Tracing on (with this tracer) or off, for this process."""
    _tracer[0] = tracer


def enabled() -> bool:
    return _tracer[0] is not None


def traceparent(span: Span | SpanContext | None) -> str | None:
    """The W3C traceparent of a sampled span, else None."""
    if span is None:
        return None
    context = span if isinstance(span, SpanContext) else span.get_span_context()
    if not context.trace_flags.sampled:
        return None
    return f"00-{context.trace_id:032x}-{context.span_id:016x}-01"


def span_context(value: str | None) -> SpanContext | None:
    """The sampled remote context a traceparent names, or None (absent, unsampled or malformed)."""
    if not value or len(value) != 55 or value[-2:] != "01":
        return None
    try:
        trace_id, span_id = int(value[3:35], 16), int(value[36:52], 16)
    except ValueError:
        return None
    if not trace_id or not span_id:
        return None
    return SpanContext(trace_id, span_id, is_remote=True, trace_flags=TraceFlags(TraceFlags.SAMPLED))


def current() -> str | None:
    """The traceparent of the span this task runs in, when tracing is on and it is sampled."""
    if _tracer[0] is None:
        return None
    return traceparent(trace.get_current_span())


def start(
    name: str,
    parent: str | SpanContext | None,
    *,
    kind: SpanKind = SpanKind.INTERNAL,
    wait: str = "work",
    booking: Any = None,
    at: int | None = None,
    links: Iterable[str] = (),
) -> Span | None:
    """A span under `parent` (or, with no parent, a batch's span linked to `links`); None when not sampled."""
    tracer = _tracer[0]
    if tracer is None:
        return None
    parent_context = span_context(parent) if isinstance(parent, str) else parent
    linked = [Link(c) for c in map(span_context, links) if c is not None]
    if parent_context is None and not linked:
        return None
    attributes: dict[str, Any] = {WAIT: wait}
    if booking is not None:
        attributes[BOOKING] = str(booking)
    if linked:
        attributes["paspor.batch_traces"] = len(linked)
    ctx = trace.set_span_in_context(NonRecordingSpan(parent_context)) if parent_context else otel_context.Context()
    return tracer.start_span(name, ctx, kind, attributes, linked, start_time=at)


def hop(name: str, parent: str | None, began: int, ended: int, wait: str, booking: Any = None) -> None:
    """A finished hop (e.g. a wait in line), recorded after the fact."""
    span = start(name, parent, wait=wait, booking=booking, at=began)
    if span is not None:
        span.end(ended)


def headers(span: Span | None, base: dict[str, str] | None = None) -> dict[str, str] | None:
    """NATS headers carrying a sampled span's context (`base` untouched when there is none)."""
    value = traceparent(span)
    if value is None:
        return base
    return (base or {}) | {TRACEPARENT: value}


def incoming(value: str | None) -> None:
    """Remember the traceparent of the message this task handles (set by the subscriber's parser)."""
    _incoming.set(value)


def received() -> str | None:
    return _incoming.get()


def as_current(span: Span | None) -> object | None:
    """Make `span` the current span of this task (undo with `detach`)."""
    return otel_context.attach(trace.set_span_in_context(span)) if span is not None else None


def detach(token: object | None) -> None:
    if token is not None:
        otel_context.detach(token)  # type: ignore[arg-type]


def now() -> int:
    return time.time_ns()


class Group:
    """The spans of one batch: each traced booking's wait in line and commit, and the batch's span linked to all."""

    def __init__(self, name: str, traced: list[tuple[str, str, int | None]], wait: str = "commit") -> None:
        """`traced`: (booking id, its hop's traceparent, when it joined the line or None)."""
        began = now()
        self.batch = start(f"{name} batch", None, wait=wait, links=[tp for _, tp, _ in traced], at=began)
        self.spans: list[Span] = []
        self.contexts: dict[str, str] = {}
        for booking, parent, joined in traced:
            if joined is not None:
                hop(f"{name} queued", parent, joined, began, "queue", booking)
            span = start(name, parent, wait=wait, booking=booking, at=began)
            if span is not None:
                self.spans.append(span)
                self.contexts[booking] = traceparent(span) or parent

    def end(self, error: BaseException | None = None) -> None:
        ended = now()
        for span in [*self.spans, self.batch]:
            if span is not None:
                if error is not None:
                    span.set_status(trace.StatusCode.ERROR, repr(error))
                span.end(ended)


def group(name: str, traced: list[tuple[str, str, int | None]], wait: str = "commit") -> Group | None:
    return Group(name, traced, wait) if traced else None


def saving_now() -> Mapping[str, str] | None:
    """The hop contexts this task saves under (a consumer's batch), per booking id."""
    return _saving.get()


def under(contexts: Mapping[str, str] | None) -> contextvars.Token[Mapping[str, str] | None]:
    """Save under these hop contexts in this task, until `reset` (a consumer handing a batch over)."""
    return _saving.set(contexts)


def reset(token: contextvars.Token[Mapping[str, str] | None]) -> None:
    _saving.reset(token)


async def on_writer(
    executor: Executor, call: Callable[..., T], *args: Any, saving: Group | Mapping[str, str] | None = None
) -> T:
    """Run `call` on the writer thread, its saves keeping the hop contexts (`saving`, else this task's)."""
    loop = asyncio.get_running_loop()
    if _tracer[0] is None:
        return await loop.run_in_executor(executor, call, *args)
    contexts = saving.contexts if isinstance(saving, Group) else saving if saving is not None else _saving.get()
    ctx = contextvars.copy_context()
    ctx.run(_saving.set, contexts)
    if isinstance(saving, Group) and saving.batch is not None:  # e.g. the SQL spans of the save
        ctx.run(otel_context.attach, trace.set_span_in_context(saving.batch))
    return await loop.run_in_executor(executor, ctx.run, call, *args)


class StoredTraces:
    """The trace contexts of stored events, by (aggregate id, version): put when saved or read, taken by the relay."""

    def __init__(self, keep: int = 100_000) -> None:
        self.keep = keep
        self.traces: OrderedDict[tuple[Any, int], dict[str, str]] = OrderedDict()

    def put(self, key: tuple[Any, int], trace_of: dict[str, str]) -> None:
        self.traces[key] = trace_of
        if len(self.traces) > self.keep:
            self.traces.popitem(last=False)

    def take(self, event: Any) -> dict[str, str] | None:
        if not self.traces:
            return None
        return self.traces.pop((event.originator_id, event.originator_version), None)


STORED = StoredTraces()


def bookings_of(thing: Any) -> list[str]:
    """The bookings an event or message is about: its `booking_id`, its decisions', or (a booking's) its own id."""
    booking = getattr(thing, "booking_id", None)
    if booking is not None:
        return [str(booking)]
    decisions = getattr(thing, "decisions", None)
    if decisions:
        return [str(d["booking_id"] if isinstance(d, dict) else d.booking_id) for d in decisions]
    originator = getattr(thing, "originator_id", None)
    return [str(originator)] if originator is not None else []


def trace_for(event: Any) -> dict[str, str] | None:
    """What a save stores with an event: per booking it is about, the context of the hop saving it."""
    contexts = _saving.get()
    if not contexts:
        return None
    found = {b: contexts[b] for b in bookings_of(event) if b in contexts}
    return found or None


def carried(headers: Mapping[str, str] | None, message: Any) -> str | None:
    """The sampled context a received message carries for its booking (one of many, for a batch message)."""
    if not headers:
        return None
    many = headers.get(TRACES)
    if many:
        bookings = bookings_of(message)
        for entry in many.split(";"):
            booking, _, value = entry.partition("=")
            if bookings and booking == bookings[0]:
                return value
        return None
    return headers.get(TRACEPARENT)


def outgoing(message: Any, contexts: Mapping[str, str], base: dict[str, str]) -> dict[str, str]:
    """Headers for a message published in a traced batch: its booking's context, or its bookings' (a batch message)."""
    bookings = bookings_of(message)
    if len(bookings) == 1:
        value = contexts.get(bookings[0])
        return base | {TRACEPARENT: value} if value else base
    entries = ";".join(f"{b}={contexts[b]}" for b in bookings if b in contexts)
    return base | {TRACES: entries} if entries else base


def name_booking(booking: Any) -> None:
    """Name the booking on the current span (when it is recorded): how `paspor trace` finds its trace."""
    if _tracer[0] is None:
        return
    span = trace.get_current_span()
    if span.is_recording():
        span.set_attribute(BOOKING, str(booking))
