"""A quota worker's memory after every session of a calendar had its rush, and its restart from snapshots.

Run as child processes so that each one's resident set is what is measured:

    python -m benchmarks.quota_rush_memory rush FOLDER SESSIONS OVERSUBSCRIBED HORIZON_SECONDS
    python -m benchmarks.quota_rush_memory restart FOLDER

`rush`: each day's sessions (250 a day: 125 offices x 2) get their rush at that day's release, capacity
x OVERSUBSCRIBED requests each, decided by `SessionQuota.decide` in batches of 500 a second apart; the
days follow each other, so the worker forgets the refused ids older than the horizon as a running one
does (HORIZON_SECONDS 0: never, the figure before issue 18). Each session's snapshot is stored after its
rush as the worker's sweep takes it; its decisions are not (45 million would be about 11 GB of events).
Prints the RSS in MB, the refused ids still remembered, and the seconds taken.

`restart`: a new application on the same store answers a request in the last day's session, loads
that day's sessions (what a rush right after a restart touches), then every session (from its
snapshot) into its cache; prints the RSS in MB, the sessions, the seconds for all of them, for the
first answer and for the last day's.
"""

from __future__ import annotations

import datetime as dt
import random
import sys
import time
import uuid
from pathlib import Path

from services.quota.application import QuotaApplication
from services.quota.domain import Request, SessionQuota
from shared.runtime.settings import CommonSettings
from shared.runtime.store import cached, store_env

from .quota_memory import rss_mb

OFFICES, CAPACITY, BATCH = 125, 100, 500
FIRST_DAY = dt.date(2027, 1, 4)
RELEASE = dt.datetime(2026, 11, 5, 17, 0, tzinfo=dt.UTC)  # the first day's release (00:00 in Jakarta)


def app_in(folder: Path, horizon_seconds: int) -> QuotaApplication:
    env = store_env(CommonSettings(event_store="sqlite", data_dir=folder), "quota")
    horizon = dt.timedelta(seconds=horizon_seconds) if horizon_seconds else None
    return QuotaApplication(env=env, horizon=horizon, snapshot_every=1)


def session_of(i: int) -> tuple[str, dt.date, str]:
    return f"OFFICE-{i % OFFICES:03d}", FIRST_DAY + dt.timedelta(days=i // (2 * OFFICES)), ("pagi", "siang")[i % 2]


def rush(folder: Path, sessions: int, oversubscribed: int, horizon_seconds: int) -> None:
    app = app_in(folder, horizon_seconds)
    cache = app.repository.cache
    assert cache is not None and app.snapshots is not None
    bits = random.Random(7).getrandbits
    correlation, causation = str(uuid.uuid4()), str(uuid.uuid4())
    started = time.perf_counter()
    for i in range(sessions):
        office, day, session = session_of(i)
        released = RELEASE + dt.timedelta(days=(day - FIRST_DAY).days)
        if i % (2 * OFFICES) == 0:  # a new day's rush: the worker's sweep forgets yesterday's refused ids
            app.compact(released)
        quota = SessionQuota(office, day, session, CAPACITY)
        requests = [
            Request(str(uuid.UUID(int=bits(128))), correlation, causation) for _ in range(CAPACITY * oversubscribed)
        ]
        for b in range(0, len(requests), BATCH):
            quota.decide(requests[b : b + BATCH], at=released + dt.timedelta(seconds=b // BATCH))
        quota.collect_events()  # decided; the events themselves are not what is measured
        cache.put(quota.id, quota)
    last = [q for q in cached(app) if isinstance(q, SessionQuota) and q.rejections and len(q.rejections)]
    app.snapshots.put([SessionQuota.Snapshot.take(q) for q in last])  # the last day's, not forgotten yet
    if app.horizon is None:  # nothing forgotten, nothing snapshotted by the sweep: every session's as it is
        app.snapshots.put([SessionQuota.Snapshot.take(q) for q in cached(app) if q not in last])
    remembered = sum(len(q.rejections) for q in cached(app))
    print(f"{rss_mb():.1f} {remembered} {time.perf_counter() - started:.1f}")


def restart(folder: Path) -> None:
    """Started again: the first answer, the last day's sessions (what a rush right after touches), then all."""
    started = time.perf_counter()
    app = app_in(folder, 900)
    opened = time.perf_counter() - started
    ids = []  # which sessions the store holds (the benchmark's bookkeeping, not timed)
    for i in range(sys.maxsize):
        office, day, session = session_of(i)
        quota_id = SessionQuota.id_for(office, day, session)
        if not list(app.snapshots.get(quota_id, desc=True, limit=1)):  # type: ignore[union-attr]
            break
        ids.append(quota_id)
    started = time.perf_counter()
    last = app.repository.get(ids[-1])
    decided = last.decide([Request(str(uuid.uuid4()), str(uuid.uuid4()), str(uuid.uuid4()))], at=RELEASE)
    assert decided[0]["reason"] == "sold_out", decided
    first = time.perf_counter() - started
    day = ids[-2 * OFFICES :]
    for quota_id in day:
        app.repository.get(quota_id)
    on_day = time.perf_counter() - started
    for quota_id in ids:
        app.repository.get(quota_id)
    every = time.perf_counter() - started
    # rss, sessions, seconds for all; then the first answer's and the last day's seconds, and opening the store's
    print(f"{rss_mb():.1f} {len(ids)} {every:.2f} {first:.3f} {on_day:.2f} {opened:.2f}")


if __name__ == "__main__":
    if sys.argv[1] == "rush":
        rush(Path(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]))
    else:
        restart(Path(sys.argv[2]))
