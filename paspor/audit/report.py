"""An audit's result as a terminal report (rich tables), JSON, or CSV (one row per offending event)."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from rich.console import Console, Group
from rich.table import Table

from shared.audit_summary import AuditSummary, save_latest
from shared.clock import now

from .findings import INVARIANTS, AuditResult

CSV_COLUMNS = ("invariant", "subject", "detail", "store", "position", "kind", "aggregate_id", "version", "at")


def as_json(result: AuditResult) -> str:
    return json.dumps(result.as_dict(), indent=2, default=str)


def as_csv(result: AuditResult) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for finding in result.findings:
        for event in finding.evidence or (None,):
            where = event.as_dict() if event else {}
            writer.writerow(
                [finding.code, finding.subject, finding.detail, *(where.get(c, "") for c in CSV_COLUMNS[3:])]
            )
    return out.getvalue()


def save_summary(result: AuditResult, data_dir: Path, jetstream: bool) -> Path:
    """Save the verdict as the data folder's latest audit (the gateway shows it in the operators' console)."""
    summary = AuditSummary(
        ran_at=now(),
        verdict="ok" if result.ok else "broken",
        events_read=result.events_read,
        findings=len(result.findings),
        broken=dict(result.broken()),
        skipped_stores=sorted(result.skipped_stores),
        seconds=round(result.seconds, 3),
        jetstream=jetstream,
    )
    return save_latest(summary, data_dir)


def print_report(result: AuditResult, console: Console, limit: int = 50) -> None:
    """Summary, invariants, and the first `limit` findings with their events."""
    console.print(Group(_read(result), _totals(result), _invariants(result)))
    if result.device_moves:
        console.print(_device_moves(result, limit))
    if result.findings:
        console.print(_findings(result, limit))
    for name, why in result.skipped_stores.items():
        console.print(f"[yellow]store {name} not audited:[/yellow] {why}")
    if result.unknown:
        unknown = ", ".join(f"{kind} ×{count}" for kind, count in result.unknown.items())
        console.print(f"[yellow]event types this audit does not know (counted, not checked):[/yellow] {unknown}")
    if result.pending:
        pending = ", ".join(f"{what} ×{count}" for what, count in result.pending.items())
        console.print(f"[cyan]in flight (newer than the grace period, not judged):[/cyan] {pending}")
    for line in _retention(result):
        console.print(line)
    verdict = (
        "[bold green]VERDICT: OK[/bold green] — every invariant holds"
        if result.ok
        else f"[bold red]VERDICT: BROKEN[/bold red] — {len(result.findings)} finding(s)"
    )
    console.print(verdict)


def _retention(result: AuditResult) -> list[str]:
    """With `--jetstream`: per stream, the stored events older than its oldest message (not compared)."""
    lines = []
    for name, window in ((result.scope.get("jetstream") or {}).get("streams") or {}).items():
        if not window["beyond_retention"]:
            continue
        held = (
            f"it holds #{window['first_seq']}–#{window['last_seq']}, the oldest stored at "
            f"{window['first_published']:%Y-%m-%d %H:%M:%S}"
            if window["messages"] and window["first_published"]
            else f"it holds nothing any more, its last (#{window['last_seq']}) stored at "
            f"{window['last_published']:%Y-%m-%d %H:%M:%S}"
        )
        lines.append(
            f"[cyan]{name}: {window['beyond_retention']:,} stored events older than the stream's oldest message "
            f"(aged out by its max age): not compared[/cyan] — stored before "
            f"{window['retained_from']:%Y-%m-%d %H:%M:%S} UTC; {held}; max age {_duration(window['max_age_seconds'])}"
        )
    return lines


def _duration(seconds: float) -> str:
    """A max age as people say it: 400 days, 90 minutes, 2 seconds."""
    for unit, size in (("days", 86400), ("hours", 3600), ("minutes", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{seconds / size:g} {unit}"
    return f"{seconds:g} seconds"


def _read(result: AuditResult) -> Table:
    rate = result.events_read / result.seconds if result.seconds else 0
    table = Table(
        title="Events replayed",
        title_justify="left",
        caption=f"{result.seconds:.2f} s, {rate:,.0f} events/s",
        caption_justify="left",
    )
    table.add_column("store")
    table.add_column("events", justify="right")
    for store, count in result.events.items():
        table.add_row(store, f"{count:,}")
    return table


def _totals(result: AuditResult) -> Table:
    table = Table(title="Rebuilt state", title_justify="left")
    table.add_column("what")
    table.add_column("count", justify="right")
    for what, count in result.totals.items():
        table.add_row(what.replace("_", " "), f"{count:,}")
    return table


def _device_moves(result: AuditResult, limit: int) -> Table:
    """The recovery steps taken: each account that moved to a new device, from which, to which, when."""
    moves = result.device_moves
    table = Table(title=f"Accounts moved to a new device ({len(moves)})", title_justify="left")
    for column in ("account", "from device", "to device", "at", "booking store #"):
        table.add_column(column)
    for move in moves[:limit]:
        at = move["at"]
        table.add_row(
            move["account"], move["from_device"], move["to_device"], f"{at:%Y-%m-%d %H:%M:%S}", str(move["position"])
        )
    return table


def _invariants(result: AuditResult) -> Table:
    broken = result.broken()
    table = Table(title="Invariants", title_justify="left")
    for column in ("invariant", "meaning", "result"):
        table.add_column(column)
    for code, meaning in INVARIANTS.items():
        if code in ("unpublished_event", "published_not_stored") and "jetstream" not in result.scope:
            continue
        status = f"[red]broken ×{broken[code]}[/red]" if broken[code] else "[green]holds[/green]"
        table.add_row(code, meaning, status)
    return table


def _findings(result: AuditResult, limit: int) -> Group:
    """Each finding with the events that show it (store, position in its log, type, aggregate version)."""
    lines = [f"[bold]Findings[/bold] (first {min(limit, len(result.findings))} of {len(result.findings)})"]
    for finding in result.findings[:limit]:
        lines.append(f"[red]✗ {finding.code}[/red] — {finding.subject}: {finding.detail}")
        lines.extend(
            f"    {e.store} #{e.position} {e.kind} v{e.version} aggregate {e.aggregate_id}"
            + (f" at {e.at:%Y-%m-%d %H:%M:%S}" if e.at else "")
            for e in finding.evidence
        )
    return Group(*lines)
