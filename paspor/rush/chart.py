"""The rush as one PNG: per system, attempts and outcomes per second, and latency percentiles over time."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only, no display
import matplotlib.pyplot as plt  # noqa: E402

SERIES = (("sent_per_s", "attempts sent"), ("confirmed_per_s", "confirmed"), ("refused_per_s", "refused"))
PERCENTILES = (("p50_ms", "p50"), ("p95_ms", "p95"), ("p99_ms", "p99"))


def draw(results: list[dict[str, Any]], path: Path, title: str) -> Path:
    """Top row: attempts sent and outcomes per second; bottom row: latency percentiles of the attempts sent
    in each second. One column per system, axes shared so that the columns compare at a glance."""
    columns = len(results)
    figure, axes = plt.subplots(2, columns, figsize=(7 * columns, 8), dpi=110, sharex=True, sharey="row", squeeze=False)
    for column, result in enumerate(results):
        points = result["timeline"]
        times = [p["t"] for p in points]
        top, bottom = axes[0][column], axes[1][column]
        for key, label in SERIES:
            top.plot(times, [p[key] for p in points], label=label)
        if any(p["failed_per_s"] for p in points):
            top.plot(times, [p["failed_per_s"] for p in points], label="failed", color="black")
        top.set(title=result["target"], ylabel="per second")
        for key, label in PERCENTILES:
            bottom.plot(times, [p[key] or None for p in points], label=label)
        bottom.set(xlabel="seconds after the release", ylabel="ms, request → final outcome", yscale="log")
        for ax in (top, bottom):
            ax.grid(alpha=0.3, which="both")
            ax.legend(fontsize=8)
    figure.suptitle(title)
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)
    return path
