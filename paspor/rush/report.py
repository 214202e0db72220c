"""The printed report: both systems side by side with their ratio, the invariants, the client's own cost."""

from __future__ import annotations

from typing import Any

from rich.table import Table

from .invariants import NAMES

ROWS = (
    ("attempts/s", lambda f: f["attempts_per_second"], "{:,.0f}"),
    ("attempts", lambda f: f["attempts"], "{:,.0f}"),
    ("p50 request → final outcome (ms)", lambda f: f["latency_ms"]["p50"], "{:,.0f}"),
    ("p95 request → final outcome (ms)", lambda f: f["latency_ms"]["p95"], "{:,.0f}"),
    ("p99 request → final outcome (ms)", lambda f: f["latency_ms"]["p99"], "{:,.0f}"),
    ("HTTP calls per attempt", lambda f: f["calls_per_attempt"], "{:.2f}"),
    ("confirmed", lambda f: f["confirmed"], "{:,.0f}"),
    ("refused", lambda f: f["refused"], "{:,.0f}"),
    ("failed (no final outcome)", lambda f: f["failed"], "{:,.0f}"),
    ("requests sent again (busy, dropped)", lambda f: f["retries"], "{:,.0f}"),
    ("rush duration (s)", lambda f: f["seconds"], "{:,.1f}"),
    ("sign-up before the release (s, not timed)", lambda f: f["sign_up_seconds"], "{:,.1f}"),
)


def results_table(results: list[dict[str, Any]], runs: int) -> Table:
    """One column per target; with two, the ratio ours ÷ conventional."""
    title = "Rush results" + (f" (medians of {runs} runs)" if runs > 1 else "")
    table = Table(title=title, title_justify="left")
    table.add_column("")
    for result in results:
        table.add_column(result["target"], justify="right")
    if len(results) == 2:
        table.add_column("ours ÷ conventional", justify="right")
    for label, value, fmt in ROWS:
        cells = [fmt.format(value(r)) for r in results]
        if len(results) == 2:
            a, b = value(results[0]), value(results[1])
            cells.append(f"{a / b:.2f}×" if b else "")
        table.add_row(label, *cells)
    for kind, key in (
        ("refused", "refused_by_reason"),
        ("failed", "failed_by_reason"),
        ("first sent again for", "retried_for"),
    ):
        for reason in sorted({k for r in results for k in r.get(key, {})}):
            counts = [f"{r.get(key, {}).get(reason, 0):,.0f}" for r in results]
            table.add_row(f"  {kind}: {reason}", *counts, *([""] if len(results) == 2 else []))
    table.add_row("client CPU per process, mean (% of a core)", *[_shares(r["client"]["mean"]) for r in results])
    table.add_row("client CPU per process, busiest second", *[_shares(r["client"]["peak_1s"]) for r in results])
    table.add_row(
        "client saturated (> 85 % of a core)?",
        *["[red]YES: figures may be the client's limit[/red]" if r["client"]["saturated"] else "no" for r in results],
    )
    return table


def invariants_table(targets: list[str], verdicts: list[dict[str, dict[str, Any]]]) -> Table:
    """One row per invariant, one column per target: ✓ or ✗ and what was found (every run's worst)."""
    table = Table(title="Invariants after the rush", title_justify="left")
    table.add_column("")
    for target in targets:
        table.add_column(target)
    for key in [*NAMES, "system_audit"]:
        if not any(key in v for v in verdicts):
            continue
        cells = []
        for found in verdicts:
            verdict = found.get(key)
            if verdict is None:
                cells.append("")
            else:
                mark = "[green]✓[/green]" if verdict["ok"] else "[red]✗[/red]"
                cells.append(f"{mark} {verdict['detail']}")
        table.add_row(NAMES.get(key, "the system's own audit"), *cells)
    return table


def _shares(values: list[float]) -> str:
    return " / ".join(f"{v * 100:.0f} %" for v in values)


def hops_table(hops: dict[str, tuple[int, float, float]], figures: dict[str, Any]) -> Table:
    """Per hop of the sampled traces, p50 and p99 ms, under the end to end figures: a slow rush names its slow hop."""
    latency = figures["latency_ms"]
    table = Table(title="Where the time went: per hop of the sampled traces (paspor rush --trace)")
    for column in ("hop", "spans", "p50 ms", "p99 ms"):
        table.add_column(column, justify="left" if column == "hop" else "right")
    table.add_row(
        "end to end (request -> final outcome, client)",
        str(figures["attempts"]),
        f"{latency['p50']:.1f}",
        f"{latency['p99']:.1f}",
        style="bold",
    )
    slowest = max(hops.items(), key=lambda kv: kv[1][2], default=None)
    for name, (count, p50, p99) in sorted(hops.items(), key=lambda kv: -kv[1][2]):
        table.add_row(
            name, str(count), f"{p50:.1f}", f"{p99:.1f}", style="red" if slowest and name == slowest[0] else ""
        )
    return table
