"""`paspor rush`: rehearse a high-season release of quota against the system (and the conventional app)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

HELP = (
    "Release managers: rehearse a high-season rush (optionally side by side with the conventional app).\n\n"
    "By default 20,000 citizens and 600 brokers (another citizen's NIK on their own account) race for "
    "8 offices x 1 date x 2 sessions (1,600 places) within 10 s, on an embedded system started on a fresh "
    "data folder; 5 % tap twice. Everyone signs up first (not timed). Reports attempts/s, p50/p95/p99 "
    "request -> final outcome, HTTP calls per attempt, outcomes by reason, the client's CPU, the invariants "
    "and a chart (rush-report/). Exits 1 if an invariant is broken, 2 on a bad option."
)
app = typer.Typer(help=HELP, add_completion=False)
DEFAULT_POSTGRES = "postgresql://postgres@127.0.0.1:5432/postgres"


@app.callback(invoke_without_command=True)
def rush(
    citizens: Annotated[
        int, typer.Option(min=1, max=1_000_000, help="Citizens in the rush, each with their own account, device, NIK.")
    ] = 20_000,
    offices: Annotated[int, typer.Option(min=1, help="Offices released (the busiest big-city ones, up to 14).")] = 8,
    days: Annotated[int, typer.Option(min=1, max=30, help="Dates released (each with two sessions).")] = 1,
    date: Annotated[
        list[str] | None,
        typer.Option(
            help="A date to release, YYYY-MM-DD (repeat for --days > 1). Default: the first date open and untouched "
            "at every office, from the system's calendar."
        ),
    ] = None,
    burst: Annotated[float, typer.Option(min=0, max=3600, help="Seconds within which the citizens arrive.")] = 10.0,
    fallbacks: Annotated[
        int,
        typer.Option(
            min=0, max=10, help="Other choices a citizen refused as sold out tries: the other session, nearest office."
        ),
    ] = 2,
    double_tap: Annotated[
        float, typer.Option(min=0, max=1, help="Share who tap 'book' twice at once (same idempotency key).")
    ] = 0.05,
    brokers: Annotated[
        float,
        typer.Option(min=0, max=1, help="Brokers, as a share of the citizens: own account, another citizen's NIK."),
    ] = 0.03,
    cancel: Annotated[
        float, typer.Option(min=0, max=1, help="Share of confirmed citizens who cancel soon after.")
    ] = 0.0,
    seed: Annotated[int, typer.Option(help="Seed of the population (same seed, same citizens).")] = 2026,
    gateway_url: Annotated[
        str | None, typer.Option(help="A running gateway (default: start the embedded system, fresh for each run).")
    ] = None,
    data_dir: Annotated[
        Path | None,
        typer.Option(
            help="With --gateway-url: that system's data folder, to audit it. Else: where each run's "
            "embedded system keeps its data (default: a temporary folder)."
        ),
    ] = None,
    compare: Annotated[
        bool, typer.Option(help="Also run the same rush against the conventional FastAPI + PostgreSQL app.")
    ] = False,
    runs: Annotated[int, typer.Option(min=1, max=20, help="Repeat the whole rush; the report shows medians.")] = 1,
    postgres_admin: Annotated[
        str, typer.Option(help="PostgreSQL server for the conventional app (a fresh database per run).")
    ] = DEFAULT_POSTGRES,
    baseline_workers: Annotated[int, typer.Option(min=1, max=16, help="uvicorn workers of the conventional app.")] = 2,
    clients: Annotated[
        int, typer.Option(min=1, max=16, help="Client processes simulating the phones (each CPU-measured).")
    ] = 2,
    connections: Annotated[
        int, typer.Option(min=1, max=10_000, help="HTTP connections of the phones in all, shared among the clients.")
    ] = 400,
    follow: Annotated[
        str,
        typer.Option(
            help="How a phone follows a pending (202) booking: auto (its event stream when offered, else polls "
            "after Retry-After), events, or poll."
        ),
    ] = "auto",
    patience: Annotated[
        float, typer.Option(min=1, max=600, help="Seconds a phone follows a pending booking before giving up.")
    ] = 60.0,
    output_dir: Annotated[Path, typer.Option(help="Where rush.json, rush.png and the client logs go.")] = Path(
        "rush-report"
    ),
    audit: Annotated[bool, typer.Option(help="Audit our event stores afterwards (needs the data folder).")] = True,
    trace: Annotated[
        bool,
        typer.Option(
            help="Trace a share of the bookings (--trace-sample) and show p50/p99 per hop beside the end to end "
            "figures (a running system: its --data-dir holds the spans)."
        ),
    ] = False,
    trace_sample: Annotated[
        float, typer.Option(min=0.0001, max=1, help="With --trace: the share of the bookings traced.")
    ] = 0.02,
    bots: Annotated[
        float,
        typer.Option(
            min=0,
            max=0.99,
            help="A share of the identities that are bots (e.g. 0.10): arrive at the exact release instant and "
            "retry --bot-speed times faster. Runs the fairness rehearsal instead: the same population against the "
            "quota judge first come first served and with a release draw (simulated time, one SQLite store each); "
            "prints the bots' share of the confirmed places in both, and joins/s beside decisions/s.",
        ),
    ] = 0.0,
    bot_speed: Annotated[
        float, typer.Option(min=1, max=10_000, help="With --bots: how many times faster than a person a bot retries.")
    ] = 20.0,
) -> None:
    """Release quota to a crowd at once; report attempts/s, latencies, outcomes, the invariants, a chart."""
    from paspor.rush.driver import ClientFailed
    from paspor.rush.release import NoReleaseDate
    from paspor.rush.scenario import InvalidScenario, Scenario
    from paspor.rush.session import InvalidOptions, RushOptions
    from paspor.rush.session import rush as run

    console = Console()
    if bots:
        _fairness(console, output_dir, bots, bot_speed, citizens, offices, days, burst, fallbacks, brokers, seed)
        return
    try:
        scenario = Scenario(
            citizens=citizens,
            offices=offices,
            days=days,
            burst_seconds=burst,
            fallbacks=fallbacks,
            double_tap=double_tap,
            brokers=brokers,
            cancel=cancel,
            seed=seed,
        )
        options = RushOptions(
            scenario,
            dates=tuple(_date(d) for d in date or ()),
            gateway_url=gateway_url,
            data_dir=data_dir,
            compare=compare,
            runs=runs,
            postgres_admin=postgres_admin,
            baseline_workers=baseline_workers,
            clients=clients,
            connections=connections,
            follow=follow,
            patience=patience,
            output_dir=output_dir,
            audit=audit,
            trace=trace_sample if trace else 0.0,
        )
    except (InvalidScenario, InvalidOptions) as error:
        console.print(f"[red]error:[/red] {error}")
        raise typer.Exit(2) from None
    try:
        report = run(options, console)
    except (NoReleaseDate, ClientFailed, RuntimeError) as error:
        console.print(f"[red]error:[/red] {error}")
        raise typer.Exit(1) from None
    raise typer.Exit(0 if report["ok"] else 1)


def _fairness(console: Console, output_dir: Path, bots: float, speed: float, citizens: int, offices: int, days: int, burst: float, fallbacks: int, brokers: float, seed: int) -> None:  # fmt: skip
    """`--bots`: the fairness rehearsal (`paspor/rush/fairness.py`), its figures printed and kept in fairness.json."""
    import json

    from paspor.rush.fairness import Bots, InvalidBots, rehearse
    from paspor.rush.scenario import InvalidScenario, Scenario

    try:
        scenario = Scenario(citizens=citizens, offices=offices, days=days, burst_seconds=burst, fallbacks=fallbacks, brokers=brokers, seed=seed)  # fmt: skip
        robots = Bots(bots, speed)
    except (InvalidScenario, InvalidBots) as error:
        console.print(f"[red]error:[/red] {error}")
        raise typer.Exit(2) from None
    with console.status("rehearsing the release first come first served, then with a draw"):
        report = rehearse(scenario, robots)
    output_dir.mkdir(parents=True, exist_ok=True)
    (output_dir / "fairness.json").write_text(json.dumps(report, indent=2))
    console.print(
        f"{report['identities']:,} identities, {report['bots']:,} bots ({report['bot_identity_share']:.0%}), "
        f"bots retry {speed:g}x faster; dates {', '.join(report['dates'])}"
    )
    for mode, name in (("fcfs", "first come, first served"), ("draw", "release draw")):
        got = report[mode]
        console.print(
            f"{name:>24}: bots won {got['bots_confirmed']:,} of {got['confirmed']:,} confirmed places = "
            f"{got['bot_share_of_confirmed']:.1%}, {got['times_identity_share']:.2f}x their share of the identities"
        )
    fcfs, draw = report["fcfs"], report["draw"]
    console.print(
        f"the judge: {draw['joins_per_second']:,} joins/s into the waiting room, {fcfs['decided_per_second']:,} "
        f"decisions/s first come first served ({report['joins_vs_decisions']}x); CPU {draw['cpu_us_per_join']} µs per "
        f"join, {fcfs['cpu_us_per_decision']} µs per decision ({report['cpu_per_join_vs_decision']}x); "
        f"the whole rehearsal {fcfs['cpu_seconds']} s + {draw['cpu_seconds']} s of CPU; figures in {output_dir / 'fairness.json'}"
    )


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(f"{text!r} is not a date (YYYY-MM-DD)", param_hint="--date") from None
