"""`paspor deadletter`: what the services parked, and replaying or discarding it."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.table import Table

HELP = "Dead letters: list what the services could not handle, show one, replay it or discard it."
app = typer.Typer(help=HELP, no_args_is_help=True, add_completion=False)
console = Console()
T = TypeVar("T")

NatsUrl = Annotated[str | None, typer.Option(help="NATS URL (default: PASPOR_NATS_URL, else the running paspor up's).")]
DataDir = Annotated[
    Path, typer.Option(help="The data folder of a running paspor up (to find its NATS and the admin's NATS key).")
]
Sequence = Annotated[int, typer.Argument(min=1, help="The dead letter's sequence (see `paspor deadletter list`).")]


@app.command("list")
def list_command(
    service: Annotated[str | None, typer.Option(help="Only this service's (booking, quota, notifier).")] = None,
    limit: Annotated[int, typer.Option(min=1, max=100_000, help="At most this many.")] = 1000,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line, for scripts.")] = False,
    nats_url: NatsUrl = None,
    data_dir: DataDir = Path("paspor-data"),
) -> None:
    """Every dead letter, oldest first: where from, why, and how many times it was tried."""
    from paspor.deadletters import parked

    found = _run(nats_url, data_dir, lambda nc: parked(nc, service, limit))
    if as_json:
        for p in found:
            typer.echo(json.dumps({"sequence": p.sequence} | p.letter.model_dump(mode="json")))
        return
    if not found:
        console.print("no dead letters")
        return
    table = Table("#", "service", "source", "subject", "tries", "bookings", "reason")
    for p in found:
        letter = p.letter
        bookings = ", ".join(b[:8] for b in letter.booking_ids[:3]) + (" …" if len(letter.booking_ids) > 3 else "")
        where = letter.subject or (f"position {letter.position}" if letter.position else "")
        table.add_row(
            str(p.sequence), letter.service, letter.source, where, str(letter.attempts), bookings, letter.reason[:80]
        )
    console.print(table)
    console.print(f"{len(found)} dead letter(s); `paspor deadletter show N` for one in full")


@app.command("show")
def show_command(sequence: Sequence, nats_url: NatsUrl = None, data_dir: DataDir = Path("paspor-data")) -> None:
    """One dead letter in full: reason, original subject and headers, attempts, the message itself."""
    from paspor.deadletters import one

    found = _run(nats_url, data_dir, lambda nc: one(nc, sequence))
    console.print_json(json.dumps({"sequence": found.sequence} | found.letter.model_dump(mode="json")))


@app.command("replay")
def replay_command(sequence: Sequence, nats_url: NatsUrl = None, data_dir: DataDir = Path("paspor-data")) -> None:
    """Send the original message again on its subject (handled idempotently), then remove the dead letter."""
    from paspor.deadletters import replay

    found = _run(nats_url, data_dir, lambda nc: replay(nc, sequence))
    console.print(f"[green]replayed[/green] #{sequence} on {found.letter.subject}")


@app.command("discard")
def discard_command(
    sequence: Sequence,
    reason: Annotated[str, typer.Option(help="Why it is dropped (printed, for the operator's log).")],
    nats_url: NatsUrl = None,
    data_dir: DataDir = Path("paspor-data"),
) -> None:
    """Remove a dead letter without sending it again."""
    from paspor.deadletters import discard

    found = _run(nats_url, data_dir, lambda nc: discard(nc, sequence))
    console.print(f"discarded #{sequence} ({found.letter.source}, {found.letter.subject}): {reason}")


def _run(nats_url: str | None, data_dir: Path, act: Callable[[Any], Awaitable[T]]) -> T:
    from nats.errors import Error as NatsError

    from paspor.commands import nats_login_of, nats_url_of
    from paspor.deadletters import NoSuchDeadLetter, NotReplayable
    from shared.runtime.bus import connect

    url = nats_url_of(nats_url, data_dir)
    login = nats_login_of("admin", data_dir)  # a replay re-publishes on any service's subject

    async def session() -> T:
        nc = await connect([u.strip() for u in url.split(",")], "paspor-deadletter", login)
        try:
            return await act(nc)
        finally:
            await nc.close()

    try:
        return asyncio.run(asyncio.wait_for(session(), timeout=60))
    except (NoSuchDeadLetter, NotReplayable) as error:
        console.print(f"[red]error:[/red] {error}")
        raise typer.Exit(1) from None
    except (NatsError, OSError, TimeoutError) as error:
        console.print(f"[red]error:[/red] cannot reach NATS at {url}: {error!r}")
        raise typer.Exit(1) from None
