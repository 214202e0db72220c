"""Printing benchmark figures side by side, as ratios, with medians of several runs."""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field

from rich.console import Console
from rich.table import Table

console = Console()


@dataclass
class Figures:
    """One contender's figures over several runs."""

    name: str
    rates: list[float] = field(default_factory=list)  # per second, one per run
    latencies_ms: list[float] = field(default_factory=list)  # every sample of every run

    @property
    def rate(self) -> float:
        return statistics.median(self.rates) if self.rates else 0.0

    def percentile(self, p: float) -> float:
        if not self.latencies_ms:
            return float("nan")
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


def side_by_side(title: str, unit: str, ours: Figures, theirs: Figures) -> float:
    """Print both contenders and the ratio of their median rates; returns the ratio."""
    table = Table(title=title)
    for column in ("", f"median {unit}", "runs", "p50 ms", "p99 ms"):
        table.add_column(column, justify="right" if column else "left")
    for figures in (ours, theirs):
        runs = ", ".join(f"{r:,.0f}" for r in figures.rates)
        table.add_row(
            figures.name, f"{figures.rate:,.0f}", runs, f"{figures.percentile(50):.1f}", f"{figures.percentile(99):.1f}"
        )
    ratio = ours.rate / theirs.rate if theirs.rate else float("inf")
    table.caption = f"ratio (ours / conventional): {ratio:.2f}x"
    console.print(table)
    return ratio
