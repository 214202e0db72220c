"""`paspor keys`: the keys of personal data at rest; `rotate-identity` re-keys the ids of NIK claims."""

from __future__ import annotations

import base64
import fcntl
import os
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

HELP = "Keys of personal data at rest: re-key the ids derived from NIKs (rotate-identity)."
app = typer.Typer(help=HELP, no_args_is_help=True, add_completion=False)
console = Console()


@app.command("rotate-identity")
def rotate_identity_command(
    data_dir: Annotated[
        Path | None, typer.Option(help="Data folder (booking store, keys/); default PASPOR_DATA_DIR or paspor-data.")
    ] = None,
    event_store: Annotated[str | None, typer.Option(help="sqlite or postgres (default PASPOR_EVENT_STORE).")] = None,
    postgres_url: Annotated[str | None, typer.Option(help="PostgreSQL URL (default PASPOR_POSTGRES_URL).")] = None,
    new_key: Annotated[
        str | None,
        typer.Option(
            help="The new key (base64 of 32+ random bytes). Needed when the key is configured (PASPOR_IDENTITY_KEY); "
            "else one is made and written to the data folder's keys/identity.key.",
        ),
    ] = None,
) -> None:
    """Re-key every NIK claim of the booking store (stop the booking service first). Safe to run again."""
    from services.booking.application import BookingApplication
    from services.booking.identity_rotation import rotate_identity
    from services.booking.main import BookingSettings
    from shared.pseudonyms import InvalidIdentityKey, Pseudonyms
    from shared.runtime.store import IDENTITY_KEY_FILE, store_env

    overrides: dict[str, Any] = {
        k: v for k, v in {"data_dir": data_dir, "event_store": event_store, "postgres_url": postgres_url}.items() if v
    }
    try:
        settings = BookingSettings(**overrides)
    except ValueError as error:
        _fail(f"invalid settings: {error}")
    if settings.event_store == "memory":
        _fail("an in-memory store keeps nothing to re-key")
    configured = settings.identity_key is not None
    if configured and new_key is None:
        _fail("the identity key is configured (PASPOR_IDENTITY_KEY): pass --new-key, then configure that key")
    key_file = settings.data_dir / "keys" / IDENTITY_KEY_FILE
    pending = key_file.with_name(IDENTITY_KEY_FILE + ".new")  # left by a run that stopped half-way
    text = new_key or (pending.read_text().strip() if pending.exists() else _new_key_text())
    try:
        new = Pseudonyms.from_text(text)
    except InvalidIdentityKey as error:
        _fail(str(error))
    lock = _embedded_lock(settings.data_dir) if settings.event_store == "sqlite" else None
    if not configured:
        pending.parent.mkdir(parents=True, exist_ok=True)
        _write_secret(pending, text)
    app = BookingApplication(new, env=store_env(settings, "booking", encrypt=True))
    try:
        with console.status("reading the NIK claims…") as status:
            done = rotate_identity(app, new, lambda n: status.update(f"reading the NIK claims… {n} events"))
    finally:
        app.close()
        if lock is not None:
            lock.close()
    if not configured:
        os.replace(pending, key_file)
    console.print(
        f"[green]re-keyed[/green] {done.claims} NIK claims ({done.claimed} holding an upcoming booking); "
        f"the store now names key {done.fingerprint}."
    )
    if configured:
        console.print("Now set PASPOR_IDENTITY_KEY to the new key for every booking service, then start them.")
    else:
        console.print(f"The new key is in {key_file}.")


def _new_key_text() -> str:
    return base64.b64encode(os.urandom(32)).decode()


def _write_secret(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as file:
        file.write(text)


def _embedded_lock(data_dir: Path) -> Any:
    """Hold the embedded system's lock: `paspor up` must not run on this folder meanwhile."""
    from paspor.embedded import LOCK_FILE

    data_dir.mkdir(parents=True, exist_ok=True)
    lock = open(data_dir / LOCK_FILE, "w")  # noqa: SIM115 - held while re-keying
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        lock.close()
        _fail(f"`paspor up` is running on {data_dir}: stop it first")
    return lock


def _fail(message: str) -> Any:
    console.print(f"[red]error:[/red] {message}")
    raise typer.Exit(1)
