"""Reading the services' span files (`<data folder>/traces/*.jsonl`): a booking's trace, and each hop's durations."""

from __future__ import annotations

import json
import statistics
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shared.runtime.hops import BOOKING, WAIT
from shared.runtime.tracing import trace_folder


@dataclass
class Span:
    """One recorded span, as the file exporter wrote it."""

    trace_id: str
    span_id: str
    parent_id: str | None
    name: str
    service: str
    start: int
    end: int
    attributes: dict[str, Any]
    links: list[dict[str, str]] = field(default_factory=list)
    error: str | None = None

    @property
    def ms(self) -> float:
        return (self.end - self.start) / 1e6

    @property
    def wait(self) -> str:
        return str(self.attributes.get(WAIT, "work"))

    @property
    def booking(self) -> str | None:
        value = self.attributes.get(BOOKING)
        return str(value) if value is not None else None

    def links_to(self, trace_id: str) -> bool:
        return any(link["trace_id"] == trace_id for link in self.links)


def read_spans(data_dir: Path) -> Iterator[Span]:
    """Every span written under the data folder (a line cut short by a killed process is skipped)."""
    for path in sorted(trace_folder(data_dir).glob("*.jsonl")):
        with path.open(encoding="utf-8") as file:
            for line in file:
                try:
                    record = json.loads(line)
                    yield Span(**{**record, "service": record.get("service") or path.stem.rsplit("-", 1)[0]})
                except (ValueError, TypeError):
                    continue


@dataclass
class Trace:
    """A booking's trace: its own spans, and the batches (linked, not parents) that carried it."""

    trace_id: str
    spans: list[Span]
    batches: list[Span]

    @property
    def start(self) -> int:
        return min(s.start for s in self.spans)

    @property
    def end(self) -> int:
        return max(s.end for s in self.spans)

    def ordered(self) -> list[tuple[int, Span, bool]]:
        """(depth, span, parent lost) in waterfall order: each span under its parent, siblings by start."""
        ids = {s.span_id for s in self.spans}
        children: dict[str | None, list[Span]] = defaultdict(list)
        for span in self.spans:
            children[span.parent_id if span.parent_id in ids else None].append(span)
        rows: list[tuple[int, Span, bool]] = []

        def walk(parent: str | None, depth: int) -> None:
            for span in sorted(children.get(parent, []), key=lambda s: (s.start, -s.end)):
                rows.append((depth, span, parent is None and span.parent_id is not None))
                walk(span.span_id, depth + 1)

        walk(None, 0)
        return rows

    def waited(self) -> dict[str, float]:
        """Milliseconds per kind of wait (queue, fetch, commit, publish, ask), over the booking's own hops."""
        totals: dict[str, float] = defaultdict(float)
        for span in self.spans:
            if span.wait != "work":
                totals[span.wait] += span.ms
        return dict(totals)


def traces_of(booking_id: str, spans: Iterable[Span]) -> list[Trace]:
    """The traces that name the booking, earliest first, each with the batch spans linked to it."""
    everything = list(spans)
    ids = {s.trace_id for s in everything if s.booking == booking_id}
    found = [
        Trace(
            trace_id,
            [s for s in everything if s.trace_id == trace_id],
            [s for s in everything if s.links and s.links_to(trace_id)],
        )
        for trace_id in ids
    ]
    return sorted(found, key=lambda t: t.start)


def hop_figures(spans: Iterable[Span]) -> dict[str, tuple[int, float, float]]:
    """Per hop name (over booking hops, not batches): (count, p50 ms, p99 ms)."""
    durations: dict[str, list[float]] = defaultdict(list)
    for span in spans:
        if not span.links:
            durations[span.name].append(span.ms)
    return {name: (len(ms), percentile(ms, 50), percentile(ms, 99)) for name, ms in sorted(durations.items())}


def percentile(values: list[float], p: float) -> float:
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[int(p) - 1]
