"""`paspor rebuild`: read models put together again from the event stores."""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path
from typing import Annotated

import nats
import typer
from rich.console import Console
from rich.table import Table

from shared.events import DEFAULT_PARTITIONS, Commands, RebuildAvailability
from shared.runtime.natsauth import NatsLogin

from . import nats_login_of, nats_url_of

HELP = "Read models rebuilt from the event stores (the availability the gateways show)."
app = typer.Typer(help=HELP, no_args_is_help=True, add_completion=False)
console = Console()


@app.command("availability")
def availability(
    partitions: Annotated[
        int, typer.Option(min=1, max=256, help="How many partitions the system has (PASPOR_PARTITIONS).")
    ] = int(os.environ.get("PASPOR_PARTITIONS", DEFAULT_PARTITIONS)),
    operator: Annotated[str, typer.Option(help="Who asks (logged by the workers).")] = "paspor-cli",
    nats_url: Annotated[str | None, typer.Option(help="NATS URL (default: PASPOR_NATS_URL or paspor up's).")] = None,
    data_dir: Annotated[
        Path, typer.Option(help="A running paspor up's data folder (its NATS and the operator's NATS key).")
    ] = Path("paspor-data"),
) -> None:
    """Ask each partition's quota worker to put every session of its store in the read model again."""
    url = nats_url_of(nats_url, data_dir)
    login = nats_login_of("operator", data_dir)
    answers = asyncio.run(_ask_all(url, partitions, RebuildAvailability(operator=operator), login))
    table = Table("partition", "sessions put")
    missing = []
    for partition, answer in enumerate(answers):
        if answer is None:
            missing.append(partition)
            table.add_row(f"p{partition:02d}", "[red]no worker answered[/red]")
        else:
            table.add_row(f"p{partition:02d}", str(answer["rebuilt"]["sessions"]))
    console.print(table)
    if missing:
        console.print(f"[red]error:[/red] partitions {missing} have no quota worker running")
        raise typer.Exit(1)


async def _ask_all(url: str, partitions: int, command: RebuildAvailability, login: NatsLogin) -> list[dict | None]:
    refusals: list[Exception] = []

    async def refused(error: Exception) -> None:  # e.g. "Authorization Violation": not the operator's key
        refusals.append(error)

    try:
        nc = await nats.connect(
            url, connect_timeout=3, max_reconnect_attempts=1, error_cb=refused, **login.connect_options()
        )
    except (OSError, nats.errors.Error) as error:
        console.print(f"[red]error:[/red] cannot reach NATS at {url}: {refusals[0] if refusals else error}")
        raise typer.Exit(2) from None

    async def ask(partition: int) -> dict | None:
        subject = Commands.REBUILD_AVAILABILITY.format(partition=partition)
        try:
            reply = await nc.request(subject, command.model_dump_json().encode(), timeout=120)
        except (nats.errors.NoRespondersError, nats.errors.TimeoutError):
            return None
        return json.loads(reply.data)

    try:
        return list(await asyncio.gather(*(ask(p) for p in range(partitions))))
    finally:
        await nc.close()
