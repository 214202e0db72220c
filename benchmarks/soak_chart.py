"""The soak as one PNG (matplotlib, as `docs/rush.png`): memory, open files, latency and throughput per minute."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, no display
import matplotlib.pyplot as plt  # noqa: E402

from .soak_sample import Sample  # noqa: E402


def draw(samples: list[Sample], path: Path, title: str) -> Path:
    """Top: RSS of every process; middle: open files of every process; bottom: p50/p99 and bookings/s."""
    minutes = [s.minute for s in samples]
    figure, (memory, files, latency) = plt.subplots(3, 1, figsize=(10, 11), dpi=110, sharex=True)
    for name in samples[0].rss:
        memory.plot(minutes, [s.rss[name] for s in samples], label=name, marker=".")
        files.plot(minutes, [s.fds[name] for s in samples], label=name, marker=".")
    memory.set(ylabel="resident memory, MB", ylim=(0, None))
    files.set(ylabel="open files (/proc/PID/fd)", ylim=(0, None))
    latency.plot(minutes, [s.p50_ms for s in samples], label="p50", marker=".")
    latency.plot(minutes, [s.p99_ms for s in samples], label="p99", marker=".")
    latency.set(xlabel="minutes", ylabel="ms, booking request → answer", ylim=(0, None))
    rate = latency.twinx()
    rate.plot(minutes, [s.per_second for s in samples], label="bookings answered/s", color="grey", linestyle="--")
    rate.set(ylabel="bookings answered per second", ylim=(0, None))
    rate.legend(fontsize=8, loc="lower right")
    for ax in (memory, files, latency):
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8, loc="upper left", ncol=3)
    figure.suptitle(title)
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)
    return path
