"""`paspor trace BOOKING-ID`: a booking's hops as a waterfall, from the span files in the data folder."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from paspor.traces import Span, Trace, read_spans, traces_of

HELP = (
    "Operators: show a traced booking's hops as a waterfall (gateway, booking, quota, relays, notifier), each "
    "with its offset, its duration and where it waited (queue, fetch, commit, publish, ask). Reads "
    "<data folder>/traces; a booking is traced when the gateway sampled it (PASPOR_TRACE_SAMPLE). "
    "Exits 1 when no trace names the booking, 2 on a bad booking id."
)
BAR = 32
COLOURS = {"queue": "yellow", "fetch": "cyan", "commit": "magenta", "publish": "blue", "ask": "green", "work": "white"}


def command(
    booking_id: Annotated[str, typer.Argument(help="The booking's id (as the gateway answered it).")],
    data_dir: Annotated[Path, typer.Option(help="The system's data folder.")] = Path("paspor-data"),
    width: Annotated[int, typer.Option(min=10, max=200, help="Characters of the waterfall's bars.")] = BAR,
) -> None:
    """Show a booking's trace as a waterfall."""
    console = Console()
    try:
        booking = str(uuid.UUID(booking_id))
    except ValueError:
        console.print(f"[red]error:[/red] {booking_id!r} is not a booking id (a UUID)")
        raise typer.Exit(2) from None
    traces = traces_of(booking, read_spans(data_dir))
    if not traces:
        console.print(
            f"[red]no trace names booking {booking}[/red] in {data_dir / 'traces'}: was it sampled "
            "(PASPOR_TRACE_SAMPLE, 1 traces every booking)?"
        )
        raise typer.Exit(1)
    for found in traces:
        console.print(waterfall(found, width))


def waterfall(found: Trace, width: int = BAR) -> Table:
    """The trace's hops under one another, each bar placed on the trace's time line."""
    begin, total = found.start, max(found.end - found.start, 1)
    table = Table(
        title=f"trace {found.trace_id}: {total / 1e6:.1f} ms, {len(found.spans)} hops",
        caption=_caption(found),
        title_justify="left",
    )
    for column in ("hop", "service", "waited in", "at ms", "ms", "time line"):
        table.add_column(column, justify="right" if column in ("at ms", "ms") else "left", no_wrap=True)
    for depth, span, lost in found.ordered():
        name = "  " * depth + span.name + (" (parent lost with its process)" if lost else "")
        table.add_row(*_row(name, span, begin, total, width))
    for span in sorted(found.batches, key=lambda s: s.start):
        name = f"~ {span.name} (batch of {len(span.links)}, linked)"
        table.add_row(*_row(name, span, begin, total, width))
    return table


def _row(name: str, span: Span, begin: int, total: int, width: int) -> tuple[Text | str, ...]:
    offset = max(span.start - begin, 0)
    left = min(int(offset * width / total), width - 1)
    length = max(1, round((span.end - span.start) * width / total))
    bar = Text(" " * left + "█" * min(length, width - left), style=COLOURS.get(span.wait, "white"))
    label = Text(name, style="red" if span.error else "")
    return label, span.service, span.wait, f"{offset / 1e6:.1f}", f"{span.ms:.2f}", bar


def _caption(found: Trace) -> str:
    waited = found.waited()
    parts = [f"{kind} {ms:.1f} ms" for kind, ms in sorted(waited.items(), key=lambda kv: -kv[1])]
    return "time in: " + (", ".join(parts) if parts else "work only") + " (sums over hops; they overlap)"
