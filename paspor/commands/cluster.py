"""`paspor cluster`: the distributed topology, on one machine or checked from a container."""

from __future__ import annotations

import logging
import signal
import threading
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

HELP = "The distributed deployment: run compose.yaml's topology locally, issue tokens, check health."
app = typer.Typer(help=HELP, no_args_is_help=True, add_completion=False)
console = Console()


@app.command()
def up(
    postgres_url: Annotated[
        str, typer.Option(help="PostgreSQL for the event stores (the database is created if missing).")
    ] = "postgresql://postgres@127.0.0.1:5432/paspor_cluster",
    data_dir: Annotated[Path, typer.Option(help="Folder for NATS stores, logs and keys.")] = Path("paspor-cluster"),
    compose_file: Annotated[
        Path | None, typer.Option("--compose", help="The compose file (default: ./compose.yaml).")
    ] = None,
    sync: Annotated[
        str, typer.Option(help="JetStream fsync: 'always' (before each ack) or 'default' (every 2 min).")
    ] = "always",
) -> None:
    """Start compose.yaml's topology as local processes: 3 nats-server nodes, the services, on loopback."""
    from paspor.cluster.local import LocalCluster

    logging.basicConfig(level="INFO", format="%(asctime)s %(levelname)-7s %(name)s: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    cluster = LocalCluster(data_dir, postgres_url, compose_file, sync=sync)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    try:
        cluster.start()
    except (RuntimeError, OSError) as error:
        cluster.stop()
        console.print(f"[red]error:[/red] {error}")
        raise typer.Exit(1) from None
    console.print(
        "[bold green]The local cluster is up.[/bold green]\n"
        f"  gateways: {', '.join(cluster.gateway_urls)}\n  NATS:     {', '.join(cluster.nats.urls)}\n"
        f"  logs:     {cluster.data_dir / 'logs'}\n"
        f"  a token:  paspor cluster token SUBJECT --data-dir {data_dir}\nPress Ctrl-C to stop."
    )
    failure = _watch(cluster, stop)
    cluster.stop()
    console.print("stopped")
    if failure:
        console.print(f"[red]error:[/red] {failure}")
        raise typer.Exit(1)


def _watch(cluster, stop: threading.Event) -> RuntimeError | None:  # noqa: ANN001
    while not stop.wait(0.5):
        try:
            cluster.check_processes()
        except RuntimeError as error:
            return error
    return None


@app.command("nats-keys")
def nats_keys(
    env_file: Annotated[Path, typer.Option(help="The env file compose reads (beside compose.yaml).")] = Path(".env"),
) -> None:
    """Make every NATS user's nkey for compose: seeds (NATS_KEY_*) and public keys (NATS_PUB_*); existing kept."""
    from paspor.cluster.natskeys import write_keys

    try:
        added = write_keys(env_file)
    except (ValueError, OSError) as error:
        console.print(f"[red]error:[/red] {error}")
        raise typer.Exit(2) from None
    made = ", ".join(added) if added else "none (all were there)"
    console.print(f"NATS keys in {env_file} (readable by you only); new: {made}")


@app.command()
def token(
    subject: Annotated[str, typer.Argument(help="Who signs in (e.g. siti@example.com).")],
    data_dir: Annotated[Path, typer.Option(help="The local cluster's folder.")] = Path("paspor-cluster"),
    role: Annotated[str, typer.Option(help="citizen, officer or operator.")] = "citizen",
    office: Annotated[str | None, typer.Option(help="An officer's office.")] = None,
) -> None:
    """Print a bearer token of the local cluster's identity provider (the gateways trust its JWKS file)."""
    from paspor.cluster.issuer import LocalIssuer

    print(LocalIssuer(data_dir.resolve() / "issuer").token(subject, role, office))


@app.command()
def health(http: Annotated[str | None, typer.Option(help="Also require this URL to answer 200.")] = None) -> None:
    """Exit 0 when NATS JetStream and the event store are reachable with this environment's settings."""
    from paspor.cluster.health import problems
    from shared.runtime.settings import CommonSettings

    found = problems(CommonSettings(), http)
    for problem in found:
        console.print(f"[red]unhealthy:[/red] {problem}")
    raise typer.Exit(1 if found else 0)
