"""`paspor audit`: replay every event store from its first event and check the invariants."""

from __future__ import annotations

import datetime as dt
from enum import Enum
from pathlib import Path
from types import TracebackType
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

from paspor.commands import nats_url_of

HELP = "Auditors: replay the event logs and prove nothing was overbooked, lost or bent."
app = typer.Typer(help=HELP, add_completion=False)


MOMENTS = ["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%d %H:%M:%S"]


class Format(str, Enum):
    terminal = "terminal"
    json = "json"
    csv = "csv"


def _day(value: dt.datetime | None) -> dt.date | None:
    return value.date() if value else None


def _moment(value: dt.datetime | None) -> dt.datetime | None:
    if value is None:
        return None
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


@app.callback(invoke_without_command=True)
def audit(
    data_dir: Annotated[
        Path | None, typer.Option(help="Data folder (SQLite stores, keys); default PASPOR_DATA_DIR or paspor-data.")
    ] = None,
    event_store: Annotated[
        str | None, typer.Option(help="sqlite or postgres (default PASPOR_EVENT_STORE, else sqlite).")
    ] = None,
    postgres_url: Annotated[
        str | None, typer.Option(help="PostgreSQL URL of the stores (default PASPOR_POSTGRES_URL).")
    ] = None,
    office: Annotated[
        str | None, typer.Option(help="Report only this office's sessions, bookings and tickets.")
    ] = None,
    start: Annotated[
        dt.datetime | None, typer.Option(formats=["%Y-%m-%d"], help="First appointment date reported.")
    ] = None,
    end: Annotated[
        dt.datetime | None, typer.Option(formats=["%Y-%m-%d"], help="Last appointment date reported.")
    ] = None,
    as_of: Annotated[
        dt.datetime | None,
        typer.Option(formats=MOMENTS, help="Replay only events up to this moment (ISO, UTC unless a zone is given)."),
    ] = None,
    grace: Annotated[
        float, typer.Option(min=0, help="Seconds a service may lag behind another before that counts as broken.")
    ] = 60.0,
    stuck_after: Annotated[
        float,
        typer.Option(min=1, help="Minutes a booking may stay requested (undecided) before it counts as stuck."),
    ] = 10.0,
    output_format: Annotated[Format, typer.Option("--format", help="terminal, json or csv.")] = Format.terminal,
    output: Annotated[
        Path | None, typer.Option(help="Write the JSON or CSV report to this file (default: standard output).")
    ] = None,
    jetstream: Annotated[
        bool, typer.Option(help="Also replay the JetStream streams and cross-check them with the stores.")
    ] = False,
    nats_url: Annotated[
        str | None, typer.Option(help="NATS URL for --jetstream (default: the running system's).")
    ] = None,
    limit: Annotated[int, typer.Option(min=1, help="Findings shown in the terminal report.")] = 50,
) -> None:
    """Replay the quota, booking and notifier event stores from the first event; exit 1 if any invariant is broken."""
    from paspor.audit import Scope, run_audit
    from paspor.audit.report import as_csv, as_json, print_report, save_summary
    from services.booking.main import BookingSettings

    overrides: dict[str, Any] = {
        k: v for k, v in {"data_dir": data_dir, "event_store": event_store, "postgres_url": postgres_url}.items() if v
    }
    settings = BookingSettings(**overrides)
    scope = Scope(
        office=office,
        start=_day(start),
        end=_day(end),
        as_of=_moment(as_of),
        grace=dt.timedelta(seconds=grace),
        stuck_after=dt.timedelta(minutes=stuck_after),
    )
    console = Console(stderr=output_format is not Format.terminal)
    with _progress(console) as (progress, tick):
        result = run_audit(settings, scope, tick)
        if jetstream:
            from paspor.audit.jetstream import cross_check_streams

            progress.console.print("replaying the JetStream streams…")
            cross_check_streams(settings, result, nats_url_of(nats_url, settings.data_dir), scope.as_of, scope.grace)
    if not (office or start or end or as_of):  # a whole-system audit: the operators' console shows its verdict
        save_summary(result, settings.data_dir, jetstream)
    if output_format is Format.terminal:
        print_report(result, console, limit)
    else:
        text = as_json(result) if output_format is Format.json else as_csv(result)
        output.write_text(text) if output else typer.echo(text, nl=False)
        console.print("verdict: ok" if result.ok else f"verdict: BROKEN ({len(result.findings)} findings)")
    if not result.events_read and result.skipped_stores:
        raise typer.Exit(2)
    raise typer.Exit(0 if result.ok else 1)


class _progress:
    """A progress bar per store while reading (on the terminal only)."""

    def __init__(self, console: Console) -> None:
        self.progress = Progress(
            TextColumn("{task.description:>9}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
            transient=True,
        )
        self.tasks: dict[str, TaskID] = {}

    def tick(self, store: str, done: int, total: int) -> None:
        if store not in self.tasks:
            self.tasks[store] = self.progress.add_task(store, total=total)
        self.progress.update(self.tasks[store], completed=done, total=max(total, done))

    def __enter__(self):
        self.progress.__enter__()
        return self.progress, self.tick

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.progress.__exit__(kind, error, trace)
