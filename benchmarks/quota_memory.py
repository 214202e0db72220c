"""Resident memory of a quota worker holding every session of 125 offices x 90 days x 2 sessions.

Run as a child process (`python -m benchmarks.quota_memory SESSIONS FILL`) so that its own resident
set is what is measured; prints the RSS in MB.
"""

from __future__ import annotations

import datetime as dt
import sys
import tempfile
import uuid
from pathlib import Path

from services.quota.application import QuotaApplication
from services.quota.domain import Request, SessionQuota
from shared.runtime.settings import CommonSettings
from shared.runtime.store import store_env


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def load(sessions: int, fill: int) -> QuotaApplication:
    """Every session opened and `fill` places reserved in each, all held in the worker's cache."""
    folder = Path(tempfile.mkdtemp(prefix="paspor-mem-"))
    app = QuotaApplication(env=store_env(CommonSettings(event_store="sqlite", data_dir=folder), "quota"))
    day, offices = dt.date(2027, 1, 4), 125
    batch: list[SessionQuota] = []
    for i in range(sessions):
        quota = SessionQuota(
            f"OFFICE-{i % offices:03d}", day + dt.timedelta(days=i // (2 * offices)), ("pagi", "siang")[i % 2], 100
        )
        quota.decide([Request(str(uuid.uuid4()), str(uuid.uuid4()), str(uuid.uuid4())) for _ in range(fill)])
        batch.append(quota)
        if len(batch) == 500:
            app.save(*batch)
            batch.clear()
    app.save(*batch)
    return app


if __name__ == "__main__":
    app = load(int(sys.argv[1]), int(sys.argv[2]))
    cached = len(app.repository.cache.cache) if app.repository.cache else 0
    print(f"{rss_mb():.1f} {cached}")
