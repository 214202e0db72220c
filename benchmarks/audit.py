"""Audit replay speed: events read, rebuilt and checked per second, on SQLite (target: 100,000/s)."""

from __future__ import annotations

import datetime as dt
import tempfile
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from paspor.audit import run_audit
from paspor.audit.sample import fill
from shared import clock
from shared.calendar import is_office_day
from shared.events import utcnow

OFFICES = ("JKT-SEL", "GRESIK", "DENPASAR", "MDN-TPI", "MAKASSAR", "MALANG", "SBY-TPI", "BANDUNG")


def history(folder: Path, bookings: int) -> None:
    """`bookings` citizens over 8 offices and 5 days: most confirmed, some refused, a tenth cancelled."""
    days = [d for d in (clock.now().date() + dt.timedelta(days=n) for n in range(3, 30)) if is_office_day(d)][:5]
    fill(folder, bookings, OFFICES, days, utcnow())


def command(
    bookings: Annotated[int, typer.Option(min=100, help="Citizens who book (about 12 stored events each).")] = 20_000,
    rounds: Annotated[int, typer.Option(min=1, max=20, help="Audits of the same history (the best is kept).")] = 3,
    data_dir: Annotated[Path | None, typer.Option(help="Audit this data folder instead of writing a history.")] = None,
) -> None:
    """Audit replay speed: events read, rebuilt and checked per second, on SQLite (target: 100,000/s)."""
    console = Console()
    with tempfile.TemporaryDirectory(prefix="paspor-bench-audit-") as scratch:
        folder = data_dir or Path(scratch)
        if data_dir is None:
            began = time.perf_counter()
            with console.status(f"writing a history of {bookings:,} bookings through the services' applications"):
                history(folder, bookings)
            console.print(f"history written in {time.perf_counter() - began:.1f} s")
        from services.booking.main import BookingSettings

        results = [run_audit(BookingSettings(data_dir=folder, event_store="sqlite")) for _ in range(rounds)]
    best = min(results, key=lambda r: r.seconds)
    table = Table(title="paspor audit on SQLite")
    for column in ("store", "events"):
        table.add_column(column, justify="right")
    for store, count in best.events.items():
        table.add_row(store, f"{count:,}")
    table.add_row("all", f"{best.events_read:,}")
    console.print(table)
    rates = ", ".join(f"{r.events_read / r.seconds:,.0f}" for r in results)
    console.print(
        f"verdict: {'ok' if best.ok else 'BROKEN'}; best {best.seconds:.2f} s = "
        f"[bold]{best.events_read / best.seconds:,.0f} events/s[/bold] (rounds: {rates} events/s)"
    )
