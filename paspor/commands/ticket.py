"""`paspor ticket`: verify tickets offline (public keys only, no service needed) and manage signing keys."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from services.notifier.admission import AdmissionPolicy, check_admission
from services.notifier.claims import TicketClaims
from services.notifier.errors import INVALID
from services.notifier.keys import (
    PUBLIC_KEYS_FILE,
    SIGNING_KEY_FILE,
    load_or_create_signing_key,
    load_public_keys,
    load_revoked,
    revoke_key,
    rotate_signing_key,
)
from services.notifier.signing import TicketInvalid, key_id, verify
from shared import clock
from shared.qr import NoQrCode, read_qr
from shared.sessions import DEFAULT_SESSION_HOURS_TEXT, parse_session_hours

HELP = "Tickets: verify one offline (public keys only) and manage the signing keys."
app = typer.Typer(help=HELP, no_args_is_help=True, add_completion=False)
keys_app = typer.Typer(help="The ticket signing keys: list, rotate, revoke.", no_args_is_help=True)
app.add_typer(keys_app, name="keys")
console = Console()
KeysDir = Annotated[Path, typer.Option("--keys", help="Keys folder (holds ticket-public-keys.json).")]
DEFAULT_KEYS = Path("paspor-data/keys")


@app.command("verify")
def verify_command(
    ticket: Annotated[str, typer.Argument(help="The QR payload (AP1....), or a PNG/JPEG photo of the QR code.")],
    keys: KeysDir = DEFAULT_KEYS,
    office: Annotated[str | None, typer.Option(help="This office's code: refuse tickets for other offices.")] = None,
    at: Annotated[str | None, typer.Option(help="Check as of this time (ISO 8601, default now).")] = None,
    any_day: Annotated[
        bool, typer.Option(help="Only check that the ticket is genuine, not that it is for today.")
    ] = False,
    session_hours: Annotated[
        str, typer.Option(envvar="PASPOR_SESSION_HOURS", help="Session hours, office time.")
    ] = DEFAULT_SESSION_HOURS_TEXT,
) -> None:
    """Verify a ticket with no network: genuine, unexpired, and (unless --any-day) for today's session."""
    now = dt.datetime.fromisoformat(at).astimezone(dt.UTC) if at else clock.now()
    policy = AdmissionPolicy(hours=parse_session_hours(session_hours))
    public = load_public_keys(keys / PUBLIC_KEYS_FILE)
    if not public:
        console.print(f"[red]error:[/red] no trusted public keys in {keys / PUBLIC_KEYS_FILE}")
        raise typer.Exit(2)
    try:
        claims = verify(_payload(ticket), public, now, frozenset(load_revoked(keys)))
        if not any_day:
            check_admission(claims, office, now, policy)
        elif office and claims.office != office:
            raise TicketInvalid("wrong_office", f"the ticket is for office {claims.office}, not {office}")
    except TicketInvalid as invalid:
        console.print(
            f"[bold red]INVALID[/bold red] ({invalid.reason}): {INVALID.get(invalid.reason, ('', ''))[1]}\n"
            f"  {invalid.detail}"
        )
        raise typer.Exit(1) from None
    console.print("[bold green]VALID[/bold green]")
    console.print(_claims_table(claims, policy))


def _payload(ticket: str) -> str:
    path = Path(ticket)
    if ticket.startswith("AP1.") or not path.is_file():
        return ticket
    try:
        return read_qr(path.read_bytes())
    except NoQrCode as error:
        console.print(f"[bold red]INVALID[/bold red] (malformed): {path}: {error}")
        raise typer.Exit(1) from None


def _claims_table(claims: TicketClaims, policy: AdmissionPolicy) -> Table:
    starts, ends = policy.session(claims.office, claims.day, claims.session)
    table = Table("", "", show_header=False, box=None)
    for field, value in (
        ("booking", str(claims.booking_id)),
        ("office", claims.office),
        ("date", claims.day.isoformat()),
        ("session", f"{claims.session} {starts:%H:%M}-{ends:%H:%M} {starts.tzname()}"),
        ("queue number", str(claims.queue_number)),
        ("applicants", str(claims.applicants)),
        ("key", claims.key_id),
        ("expires", f"{claims.expires_at:%Y-%m-%d %H:%M} UTC"),
    ):
        table.add_row(field, value)
    return table


@keys_app.command("list")
def list_keys(keys: KeysDir = DEFAULT_KEYS) -> None:
    """The keys whose tickets verify, the current signing key, and the revoked ones."""
    current = _current_key_id(keys)
    revoked = load_revoked(keys)
    table = Table("key id", "status")
    for kid in load_public_keys(keys / PUBLIC_KEYS_FILE):
        status = f"revoked {revoked[kid]}" if kid in revoked else ("current (signing)" if kid == current else "trusted")
        table.add_row(kid, status)
    console.print(table)


@keys_app.command("rotate")
def rotate(keys: KeysDir = DEFAULT_KEYS) -> None:
    """Sign new tickets with a new key; tickets signed with the old one keep verifying until they expire."""
    old = _current_key_id(keys)
    new = rotate_signing_key(keys)
    console.print(f"new signing key [bold]{new}[/bold] (previous {old or 'none'} stays trusted); restart the notifier")


@keys_app.command("revoke")
def revoke(
    kid: Annotated[str, typer.Argument(help="The key id to stop trusting.")], keys: KeysDir = DEFAULT_KEYS
) -> None:
    """Refuse every ticket signed with a key (rotate first if it is the current one)."""
    if kid == _current_key_id(keys):
        console.print(f"[red]error:[/red] {kid} is the current signing key: run `paspor ticket keys rotate` first")
        raise typer.Exit(2)
    try:
        revoke_key(keys, kid, clock.now().isoformat(timespec="seconds"))
    except KeyError:
        console.print(f"[red]error:[/red] no key {kid!r} in {keys}")
        raise typer.Exit(2) from None
    console.print(f"key {kid} revoked: its tickets are refused from now on")


def _current_key_id(keys: Path) -> str | None:
    return key_id(load_or_create_signing_key(keys).public_key()) if (keys / SIGNING_KEY_FILE).exists() else None
