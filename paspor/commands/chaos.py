"""`paspor chaos`: crash NATS nodes, workers and PostgreSQL of the local cluster under a steady booking load."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

HELP = "Chaos: random crashes and restarts of the local cluster's processes under load, then the audit."
console = Console(highlight=False)


def command(
    minutes: Annotated[float, typer.Option(min=0.1, max=24 * 60, help="How long the load and the faults go on.")] = 30,
    rate: Annotated[float, typer.Option(min=0.1, max=1000, help="New citizens booking per second.")] = 5,
    seed: Annotated[int, typer.Option(min=0, help="Seed of the fault schedule (the same seed, the same faults).")] = 1,
    interval: Annotated[float, typer.Option(min=1, help="Seconds between faults (each ±25 %).")] = 30,
    patience: Annotated[
        float,
        typer.Option(min=5, help="Seconds a citizen keeps asking (same key) before the booking counts as failed."),
    ] = 120,
    data_dir: Annotated[
        Path | None, typer.Option(help="Folder for the cluster's stores and logs (default: a new one under /tmp).")
    ] = None,
    report: Annotated[Path | None, typer.Option(help="Also write the summary as JSON to this file.")] = None,
) -> None:
    """Start a private PostgreSQL and the local cluster, book at --rate while crashing a random NATS node,
    worker (quota, booking, notifier, gateway) or PostgreSQL every --interval seconds, read every
    acknowledged booking back, run `paspor audit`; exit 1 if the audit fails or an acknowledged booking was lost."""
    from paspor.chaos.report import summary, write
    from paspor.chaos.run import ChaosRun, ChaosSettings
    from paspor.cluster.pgserver import PostgresUnavailable
    from shared import clock
    from shared.runtime.settings import CommonSettings

    clock.use(CommonSettings().clock())  # the services' clock (PASPOR_CLOCK_START): tokens and days agree
    started = time.monotonic()
    settings = ChaosSettings(minutes, rate, seed, interval, patience, data_dir)
    try:
        result = ChaosRun(settings, say).run()
    except (PostgresUnavailable, RuntimeError, OSError) as error:
        console.print(f"[red]error:[/red] {error}")
        raise typer.Exit(2) from None
    data = summary(result, say)
    if report is not None:
        write(data | {"seed": seed, "minutes": minutes, "rate": rate, "interval": interval}, report)
    say(f"took {time.monotonic() - started:.0f}s; verdict: {'ok' if data['ok'] else 'BROKEN'}")
    raise typer.Exit(0 if data["ok"] else 1)


def say(text: str) -> None:
    console.print(f"{time.strftime('%H:%M:%S')} {text}")
