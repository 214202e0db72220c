"""`paspor quota`: operators change capacity and close sessions on a running system."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
from pathlib import Path
from typing import Annotated, Any, TypeVar

import nats
import typer
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table

from shared.events import ChangeCapacity, CloseSessions, Commands
from shared.runtime.natsauth import NatsLogin

from . import nats_login_of, nats_url_of

HELP = "Operators: change a session's capacity or close a day (on a running system)."
app = typer.Typer(help=HELP, no_args_is_help=True, add_completion=False)
console = Console()
OfficeCommand = TypeVar("OfficeCommand", ChangeCapacity, CloseSessions)

DataDir = Annotated[
    Path, typer.Option(help="Data folder of a running `paspor up` (to find its NATS and the operator's NATS key).")
]
NatsUrl = Annotated[str | None, typer.Option(help="NATS URL (default: PASPOR_NATS_URL, else the data folder's).")]
Session = Annotated[str | None, typer.Option(help="pagi or siang (default: both).")]
Operator = Annotated[str, typer.Option(help="Who does it, for the audit trail.")]


@app.command("set-capacity")
def set_capacity(
    office: Annotated[str, typer.Argument(help="Office code, e.g. GRESIK.")],
    date: Annotated[dt.datetime, typer.Argument(formats=["%Y-%m-%d"], help="YYYY-MM-DD.")],
    capacity: Annotated[int, typer.Argument(min=0, max=10000, help="New capacity per session.")],
    session: Session = None,
    operator: Operator = os.environ.get("USER", "operator"),
    data_dir: DataDir = Path("paspor-data"),
    nats_url: NatsUrl = None,
) -> None:
    """Set the capacity of a date's session(s); lowering it never drops existing bookings."""
    command = _build(
        ChangeCapacity, office=office, date=date.date(), session=session, capacity=capacity, operator=operator
    )
    _send(Commands.CHANGE_CAPACITY, command, nats_url_of(nats_url, data_dir), nats_login_of("operator", data_dir))


@app.command()
def close(
    office: Annotated[str, typer.Argument(help="Office code, e.g. GRESIK.")],
    date: Annotated[dt.datetime, typer.Argument(formats=["%Y-%m-%d"], help="YYYY-MM-DD.")],
    reason: Annotated[str, typer.Option(help="Why; the affected citizens are told.")],
    session: Session = None,
    operator: Operator = os.environ.get("USER", "operator"),
    data_dir: DataDir = Path("paspor-data"),
    nats_url: NatsUrl = None,
) -> None:
    """Close a date's session(s), e.g. for an unplanned closure; booked applicants are told."""
    command = _build(CloseSessions, office=office, date=date.date(), session=session, reason=reason, operator=operator)
    _send(Commands.CLOSE_SESSIONS, command, nats_url_of(nats_url, data_dir), nats_login_of("operator", data_dir))


def _build(model: type[OfficeCommand], **fields: Any) -> OfficeCommand:
    try:
        return model(**fields)
    except ValidationError as error:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in error.errors())
        console.print(f"[red]error:[/red] {problems}")
        raise typer.Exit(2) from None


def _send(template: str, command: ChangeCapacity | CloseSessions, url: str, login: NatsLogin) -> None:
    reply = asyncio.run(_request(Commands.for_office(template, command.office), command, url, login))
    if "problem" in reply:
        console.print(f"[red]refused ({reply['problem']['code']}):[/red] {reply['problem']['message_en']}")
        raise typer.Exit(1)
    table = Table("date", "session", "capacity", "booked", "remaining", "closed")
    for row in reply["sessions"]:
        table.add_row(
            row["date"],
            row["session"],
            str(row["capacity"]),
            str(row["booked"]),
            str(row["remaining"]),
            str(row["closed"]),
        )
    console.print(table)


async def _request(subject: str, command: ChangeCapacity | CloseSessions, url: str, login: NatsLogin) -> dict:
    refusals: list[Exception] = []

    async def refused(error: Exception) -> None:  # NATS says so when this key may not send the command
        refusals.append(error)

    try:
        nc = await nats.connect(
            url, connect_timeout=3, max_reconnect_attempts=1, error_cb=refused, **login.connect_options()
        )
    except (OSError, nats.errors.Error) as error:
        cause = refusals[0] if refusals else error  # e.g. an unknown key: "Authorization Violation"
        console.print(f"[red]error:[/red] cannot reach NATS at {url} as {login.nats_user or 'nobody'}: {cause}")
        raise typer.Exit(2) from None
    try:
        response = await nc.request(subject, command.model_dump_json().encode(), timeout=10)
    except (nats.errors.NoRespondersError, nats.errors.TimeoutError):
        why = f"NATS refused it: {refusals[0]}" if refusals else f"no quota worker answers for office {command.office}"
        console.print(f"[red]error:[/red] {why} ({subject})")
        raise typer.Exit(1) from None
    finally:
        await nc.close()
    return json.loads(response.data)
