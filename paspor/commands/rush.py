"""`paspor rush`: simulate a high-season release of quota against a running system (and the conventional baseline)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

HELP = "Release managers: rehearse a high-season rush (optionally side by side with the conventional baseline)."
app = typer.Typer(help=HELP, add_completion=False)


@app.callback(invoke_without_command=True)
def rush(
    users: Annotated[int, typer.Option(min=1, help="Citizens in the rush.")] = 5000,
    offices: Annotated[int, typer.Option(min=1, max=18, help="Offices released (the busiest big-city ones).")] = 8,
    days: Annotated[int, typer.Option(min=1, max=30, help="Office days released.")] = 3,
    burst: Annotated[float, typer.Option(min=0, help="Seconds over which the users arrive.")] = 5.0,
    double_tap: Annotated[float, typer.Option(min=0, max=1, help="Share of users who tap 'book' twice.")] = 0.05,
    cancel: Annotated[float, typer.Option(min=0, max=1, help="Share of confirmed users who cancel soon after.")] = 0.03,
    fallbacks: Annotated[int, typer.Option(min=0, max=10, help="Other choices a refused user tries.")] = 3,
    seed: Annotated[int, typer.Option(help="Seed of the population (same seed, same users).")] = 2026,
    gateway_url: Annotated[
        str | None, typer.Option(help="A running gateway (default: start the embedded system).")
    ] = None,
    data_dir: Annotated[
        Path | None, typer.Option(help="Data folder: of the running system (to audit it), or for the embedded one.")
    ] = None,
    compare: Annotated[
        bool, typer.Option(help="Also run the same rush against the conventional SQL-counter baseline.")
    ] = False,
    postgres_admin: Annotated[
        str, typer.Option(help="PostgreSQL server for the baseline (a fresh database is made).")
    ] = "postgresql://postgres@127.0.0.1:5432/postgres",
    baseline_workers: Annotated[
        int | None, typer.Option(min=1, help="Baseline server processes (default: one per core).")
    ] = None,
    connections: Annotated[
        int, typer.Option(min=1, max=2000, help="Simultaneous HTTP connections of the simulated phones.")
    ] = 200,
    output_dir: Annotated[Path, typer.Option(help="Where rush.json and rush.png go.")] = Path("rush-report"),
    audit: Annotated[bool, typer.Option(help="Audit the event stores afterwards and print the verdict.")] = True,
) -> None:
    """Simulate a release of quota in high season; report attempts/s, outcomes, latencies, a chart, and the audit."""
    from paspor.rush.scenario import Scenario
    from paspor.rush.session import RushOptions
    from paspor.rush.session import rush as run

    scenario = Scenario(
        users=users,
        offices=offices,
        days=days,
        burst_seconds=burst,
        double_tap=double_tap,
        cancel=cancel,
        fallbacks=fallbacks,
        seed=seed,
    )
    options = RushOptions(
        scenario, gateway_url, data_dir, compare, postgres_admin, baseline_workers, connections, output_dir, audit
    )
    report = run(options, Console())
    audit_ok = report.get("audit") is None or report["audit"]["verdict"] == "ok"
    baseline_ok = not any(report.get("baseline_check", {}).values())
    raise typer.Exit(0 if audit_ok and baseline_ok else 1)
