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

from services.quota.replay import WAIT_SECONDS
from shared.events import DEFAULT_PARTITIONS, Commands, Message, RebuildAvailability, RebuildOutcomes
from shared.runtime.natsauth import NatsLogin

from . import nats_login_of, nats_url_of

HELP = "Read models rebuilt from the event stores (the availability the gateways show, the bookings' outcomes)."
app = typer.Typer(help=HELP, no_args_is_help=True, add_completion=False)
console = Console()


PARTITIONS = Annotated[
    int, typer.Option(min=1, max=256, help="How many partitions the system has (PASPOR_PARTITIONS).")
]
OPERATOR = Annotated[str, typer.Option(help="Who asks (logged by the workers).")]
NATS_URL = Annotated[str | None, typer.Option(help="NATS URL (default: PASPOR_NATS_URL or paspor up's).")]
DATA_DIR = Annotated[
    Path, typer.Option(help="A running paspor up's data folder (its NATS and the operator's NATS key).")
]


@app.command("availability")
def availability(
    partitions: PARTITIONS = int(os.environ.get("PASPOR_PARTITIONS", DEFAULT_PARTITIONS)),
    operator: OPERATOR = "paspor-cli",
    nats_url: NATS_URL = None,
    data_dir: DATA_DIR = Path("paspor-data"),
) -> None:
    """Ask each partition's quota worker to put every session of its store in the read model again."""
    command = RebuildAvailability(operator=operator)
    with console.status("each partition's worker puts its sessions in the read model again ..."):
        answers = _ask(nats_url, data_dir, partitions, Commands.REBUILD_AVAILABILITY, command, timeout=120)
    table = Table("partition", "sessions put")
    for partition, answer in enumerate(answers):
        table.add_row(f"p{partition:02d}", _failed(answer) or str(answer["rebuilt"]["sessions"]))  # type: ignore[index]
    _finish(table, answers)


@app.command("outcomes")
def outcomes(
    after: Annotated[
        int, typer.Option(min=0, help="Publish only the decisions stored after this position (default: all).")
    ] = 0,
    partitions: PARTITIONS = int(os.environ.get("PASPOR_PARTITIONS", DEFAULT_PARTITIONS)),
    operator: OPERATOR = "paspor-cli",
    nats_url: NATS_URL = None,
    data_dir: DATA_DIR = Path("paspor-data"),
) -> None:
    """Publish every partition's stored decisions again; the booking service applies those it lacks.

    What a booking already recorded changes nothing (the booking service is idempotent), so it is safe
    on a running system: use it when bookings stay `requested` although quota decided them (a stream
    wiped or purged, the booking store restored from an older backup). `paspor audit` shows the result.
    """
    command = RebuildOutcomes(operator=operator, after=after)
    with console.status(f"each partition's worker publishes its decisions stored after position {after} again ..."):
        answers = _ask(nats_url, data_dir, partitions, Commands.REBUILD_OUTCOMES, command, timeout=WAIT_SECONDS + 30)
    table = Table("partition", "events published", "through position", "seconds")
    for partition, answer in enumerate(answers):
        if failed := _failed(answer):
            table.add_row(f"p{partition:02d}", failed, "", "")
            continue
        done = answer["republished"]  # type: ignore[index]
        table.add_row(f"p{partition:02d}", f"{done['events']:,}", f"{done['through']:,}", f"{done['seconds']:.1f}")
    _finish(table, answers)
    console.print("the booking service applies what it lacked; `paspor audit` checks the outcome")


def _failed(answer: dict | None) -> str | None:
    """How a partition's answer failed, for the table (None: it did not)."""
    if answer is None:
        return "[red]no worker answered[/red]"
    if problem := answer.get("problem"):
        return f"[red]{problem.get('code')}: {problem.get('message_en', '')}[/red]"
    return None


def _finish(table: Table, answers: list[dict | None]) -> None:
    """Print the table; exit 1 naming the partitions that were not done."""
    console.print(table)
    missing = [partition for partition, answer in enumerate(answers) if answer is None]
    refused = [partition for partition, answer in enumerate(answers) if answer is not None and answer.get("problem")]
    if missing:
        console.print(f"[red]error:[/red] partitions {missing} have no quota worker running")
    if refused:
        console.print(f"[red]error:[/red] partitions {refused} refused (see the table); ask again")
    if missing or refused:
        raise typer.Exit(1)


def _ask(
    nats_url: str | None, data_dir: Path, partitions: int, subject: str, command: Message, timeout: float
) -> list[dict | None]:
    url = nats_url_of(nats_url, data_dir)
    login = nats_login_of("operator", data_dir)
    return asyncio.run(_ask_all(url, partitions, subject, command, login, timeout))


async def _ask_all(
    url: str, partitions: int, subject: str, command: Message, login: NatsLogin, timeout: float
) -> list[dict | None]:
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
        try:
            reply = await nc.request(subject.format(partition=partition), command.model_dump_json().encode(), timeout)
        except (nats.errors.NoRespondersError, nats.errors.TimeoutError):
            return None
        return json.loads(reply.data)

    try:
        return list(await asyncio.gather(*(ask(p) for p in range(partitions))))
    finally:
        await nc.close()
