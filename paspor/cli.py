"""The `paspor` command line."""

from __future__ import annotations

import logging
import signal
import threading
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

app = typer.Typer(help="Antrian Paspor: passport appointment booking.", no_args_is_help=True, add_completion=False)
console = Console()
SERVICE_NAMES = ("booking", "quota", "notifier", "gateway")


def _logging(level: str = "INFO") -> None:
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)-7s %(name)s: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)


@app.command()
def up(
    data_dir: Annotated[Path, typer.Option(help="Folder for the event stores, NATS store and keys.")] = Path("paspor-data"),
    port: Annotated[int, typer.Option(min=1, max=65535, help="Gateway HTTP port.")] = 8080,
    nats_port: Annotated[int | None, typer.Option(min=1, max=65535, help="NATS port (default: a free one).")] = None,
) -> None:
    """Start the whole system on the embedded default: nats-server + SQLite + every service."""
    from .embedded import DataDirInUse, EmbeddedSystem
    from .natsserver import NatsServerError

    _logging()
    system = EmbeddedSystem(data_dir, port, nats_port)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    try:
        system.start()
    except (DataDirInUse, NatsServerError, RuntimeError) as error:
        system.stop()
        console.print(f"[red]error:[/red] {error}")
        raise typer.Exit(1) from None
    console.print(f"[bold green]Antrian Paspor is up.[/bold green]\n  gateway: {system.gateway_url}  (API docs: {system.gateway_url}/docs)\n"
                  f"  NATS:    {system.nats.url}\n  data:    {system.data_dir}\nPress Ctrl-C to stop.")
    failure = None
    while not stop.wait(0.5):
        try:
            system.check_children()
        except RuntimeError as error:
            failure = error
            break
    system.stop()
    if failure:
        console.print(f"[red]error:[/red] {failure}")
        raise typer.Exit(1)


@app.command()
def service(name: Annotated[str, typer.Argument(help="booking, quota, notifier or gateway")]) -> None:
    """Run one service (settings from PASPOR_* environment variables)."""
    if name not in SERVICE_NAMES:
        console.print(f"[red]error:[/red] unknown service {name!r}; choose one of {', '.join(SERVICE_NAMES)}")
        raise typer.Exit(2)
    import importlib

    from pydantic import ValidationError

    _logging()
    module = importlib.import_module(f"services.{name}.main")
    try:
        module.main()
    except ValidationError as error:
        console.print(f"[red]invalid configuration for {name}:[/red]\n{error}")
        raise typer.Exit(2) from None


@app.command()
def offices(
    province: Annotated[str | None, typer.Option(help="Only this province (e.g. 'Jawa Timur').")] = None,
    near: Annotated[str | None, typer.Option(help="LAT,LON: nearest offices first, with distance.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=500, help="How many to show.")] = 200,
) -> None:
    """List the immigration offices that issue passports."""
    from shared.offices import load_offices, nearest_offices, offices_in_province

    table = Table("code", "name", "city", "province", "tz", "capacity")
    if near:
        try:
            lat, lon = (float(x) for x in near.split(","))
            rows = nearest_offices(lat, lon, limit)
        except ValueError as error:
            console.print(f"[red]error:[/red] --near must be LAT,LON within range ({error})")
            raise typer.Exit(2) from None
        table.add_column("km")
        for office, km in rows:
            table.add_row(office.code, office.name, office.city, office.province, office.timezone, str(office.capacity_per_session), f"{km:.1f}")
    else:
        chosen = offices_in_province(province) if province else list(load_offices())
        if not chosen:
            console.print(f"[red]error:[/red] no office in province {province!r}")
            raise typer.Exit(2)
        for office in chosen[:limit]:
            table.add_row(office.code, office.name, office.city, office.province, office.timezone, str(office.capacity_per_session))
    console.print(table)
