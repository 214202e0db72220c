"""The soak's samples: each process's memory and open files from /proc, and the load's figures per minute."""

from __future__ import annotations

import csv
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

from paspor.load.records import Attempt, percentile


def rss_mb(pid: int) -> float:
    """Resident memory (VmRSS) of a process, in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def open_files(pid: int) -> int:
    """Open file descriptors of a process (files, sockets, pipes)."""
    return len(os.listdir(f"/proc/{pid}/fd"))


@dataclass
class Sample:
    """One sampling period of the soak."""

    minute: float  # the period's end, minutes since the load began
    seconds: float  # the period's length
    sent: int
    answered: int
    failed: int
    errors: int
    per_second: float  # bookings answered per second in the period
    p50_ms: float
    p99_ms: float
    client_cpu: float  # the load generator's CPU, as a share of one core
    load_average: float  # the machine's, 1 minute
    rss: dict[str, float] = field(default_factory=dict)
    fds: dict[str, int] = field(default_factory=dict)

    def row(self) -> dict[str, object]:
        fixed = {k: v for k, v in vars(self).items() if k not in ("rss", "fds")}
        return (
            fixed
            | {f"rss_mb:{name}": round(mb, 1) for name, mb in self.rss.items()}
            | {f"fds:{name}": count for name, count in self.fds.items()}
        )


class Sampler:
    """Turns the attempts finished in a period, and /proc, into a Sample."""

    def __init__(self, processes: dict[str, int]) -> None:
        self.processes = processes
        self.wall, self.cpu = time.monotonic(), time.process_time()

    def sample(self, minute: float, finished: list[Attempt], sent: int) -> Sample:
        wall, cpu = time.monotonic(), time.process_time()
        seconds = wall - self.wall
        answered = [a for a in finished if a.answered is not None]
        latencies = [a.latency_ms for a in answered if a.latency_ms is not None]
        sample = Sample(
            minute=round(minute, 2),
            seconds=round(seconds, 1),
            sent=sent,
            answered=len(answered),
            failed=sum(1 for a in finished if a.failure is not None),
            errors=sum(len(a.errors) for a in finished),
            per_second=round(len(answered) / seconds, 1) if seconds else 0.0,
            p50_ms=round(percentile(latencies, 50), 1),
            p99_ms=round(percentile(latencies, 99), 1),
            client_cpu=round((cpu - self.cpu) / seconds, 3) if seconds else 0.0,
            load_average=os.getloadavg()[0],
            rss={name: rss_mb(pid) for name, pid in self.processes.items()},
            fds={name: open_files(pid) for name, pid in self.processes.items()},
        )
        self.wall, self.cpu = wall, cpu
        return sample


def write_csv(samples: list[Sample], path: Path) -> Path:
    rows = [s.row() for s in samples]
    with path.open("w", newline="") as out:
        writer = csv.DictWriter(out, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path
