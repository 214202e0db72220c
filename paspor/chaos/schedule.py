"""The fault schedule: which process is crashed when, and for how long, drawn from a seed.

The same seed, duration, interval and targets give the same schedule, so a run that found a bug can
be played again. Faults come one at a time, about every `interval` seconds (±25 %), the first after
one interval (the load is warm by then); each picks a kind first (a NATS node, a quota, booking,
notifier or gateway worker, PostgreSQL), then one of that kind's processes.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

KINDS = ("nats", "quota", "booking", "notifier", "gateway", "postgres")
DOWN_SECONDS = (1.0, 8.0)  # how long a crashed process stays down before it is started again


@dataclass(frozen=True)
class Fault:
    """Crash `target` (SIGKILL; PostgreSQL: an immediate shutdown) `at` seconds into the load, restart it after `down`."""

    at: float
    kind: str
    target: str
    down: float

    def describe(self) -> str:
        return f"{self.kind} {self.target}: crash, down {self.down:.1f}s, restart"


def plan(
    seed: int,
    seconds: float,
    interval: float,
    targets: dict[str, list[str]],
    down: tuple[float, float] = DOWN_SECONDS,
) -> list[Fault]:
    """Every fault of a run of `seconds`, each over (crashed and restarted) before the run ends."""
    if interval <= 0:
        raise ValueError(f"the interval between faults must be above 0 seconds, got {interval}")
    unknown = sorted(set(targets) - set(KINDS))
    if unknown:
        raise ValueError(f"unknown fault kinds {unknown}; known: {', '.join(KINDS)}")
    kinds = [kind for kind in KINDS if targets.get(kind)]
    if not kinds:
        raise ValueError("no process to crash: every kind has an empty target list")
    rng, at = random.Random(seed), interval
    faults: list[Fault] = []
    while True:
        kind = rng.choice(kinds)
        fault = Fault(round(at, 1), kind, rng.choice(sorted(targets[kind])), round(rng.uniform(*down), 1))
        if fault.at + fault.down >= seconds:
            return faults
        faults.append(fault)
        at += interval * rng.uniform(0.75, 1.25)
