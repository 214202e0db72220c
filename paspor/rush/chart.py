"""The rush as a PNG: throughput over time and the latency distribution, one line per target."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only, no display
import matplotlib.pyplot as plt  # noqa: E402

from .results import percentile  # noqa: E402


def draw(results: list[dict[str, Any]], latencies: list[list[float]], path: Path, title: str) -> Path:
    """Two panels: answered and confirmed per second after the release; latency percentiles."""
    figure, (left, right) = plt.subplots(1, 2, figsize=(13, 5), dpi=110)
    for result in results:
        points = result["timeline"]
        times = [p["t"] for p in points]
        (line,) = left.plot(times, [p["answered_per_s"] for p in points], label=f"{result['target']}: answered")
        left.plot(
            times,
            [p["confirmed_per_s"] for p in points],
            linestyle="--",
            color=line.get_color(),
            label=f"{result['target']}: confirmed",
        )
    left.set(xlabel="seconds after the release", ylabel="attempts per second", title="Throughput over time")
    left.legend(fontsize=8)
    left.grid(alpha=0.3)
    ps = [p / 10 for p in range(0, 1000, 5)] + [99.5, 99.9, 100]
    for result, values in zip(results, latencies, strict=True):
        right.plot(ps, [percentile(values, p) for p in ps], label=result["target"])
    right.set(
        xlabel="percentile", ylabel="ms from request to final outcome", title="Latency distribution", yscale="log"
    )
    right.legend(fontsize=8)
    right.grid(alpha=0.3, which="both")
    figure.suptitle(title)
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)
    return path
