"""The `paspor` command line."""

from __future__ import annotations

import logging
import signal
import threading
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

app = typer.Typer(help="Antrian Paspor: passport appointment booking.", no_args_is_help=True, add_completion=False)


def _add_command_groups() -> None:
    """Every module in paspor/commands becomes `paspor <name>`: a group (its `app`), or one command (its `command`)."""
    import importlib
    import pkgutil

    from . import commands

    for module_info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{commands.__name__}.{module_info.name}")
        if hasattr(module, "command"):
            app.command(name=module_info.name.replace("_", "-"), help=module.HELP)(module.command)
        else:
            app.add_typer(module.app, name=module_info.name.replace("_", "-"), help=module.HELP)


console = Console()
SERVICE_NAMES = ("booking", "quota", "notifier", "gateway")


def _logging(level: str = "INFO") -> None:
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)-7s %(name)s: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)


@app.command()
def up(
    data_dir: Annotated[Path, typer.Option(help="Folder for the event stores, NATS store and keys.")] = Path(
        "paspor-data"
    ),
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
    console.print(
        f"[bold green]Antrian Paspor is up.[/bold green]\n  gateway: {system.gateway_url}  (API docs: {system.gateway_url}/docs)\n"
        f"  NATS:    {system.nats.url}\n  data:    {system.data_dir}\nPress Ctrl-C to stop."
    )
    failure = None
    while not stop.wait(0.5):
        try:
            system.revive()
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


_add_command_groups()
