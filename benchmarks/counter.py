"""The conventional alternative: one SQL row per session, `reserved = reserved + 1 WHERE reserved < capacity`."""

from __future__ import annotations

import asyncio
import random
import sqlite3
import time
from pathlib import Path

import psycopg
from psycopg_pool import AsyncConnectionPool

UPDATE_PG = "UPDATE sessions SET reserved = reserved + 1 WHERE id = %s AND reserved < capacity RETURNING reserved"
UPDATE_SQLITE = "UPDATE sessions SET reserved = reserved + 1 WHERE id = ? AND reserved < capacity RETURNING reserved"


def prepare_postgres(url: str, sessions: int, capacity: int) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS sessions")
        conn.execute(
            "CREATE TABLE sessions (id int PRIMARY KEY, capacity int NOT NULL, reserved int NOT NULL DEFAULT 0)"
        )
        conn.execute(
            "INSERT INTO sessions (id, capacity) SELECT g, %s FROM generate_series(0, %s) g", (capacity, sessions - 1)
        )


async def run_postgres(url: str, targets: list[int], connections: int = 32) -> tuple[float, list[float]]:
    """Decide every request with its own durable UPDATE from `connections` connections; (rate, latencies)."""
    queue: asyncio.Queue[int] = asyncio.Queue()
    for target in targets:
        queue.put_nowait(target)
    latencies: list[float] = []
    async with AsyncConnectionPool(
        url, min_size=connections, max_size=connections, kwargs={"autocommit": True, "prepare_threshold": 0}
    ) as pool:
        await pool.wait()

        async def client() -> None:
            async with pool.connection() as conn:
                while not queue.empty():
                    target = queue.get_nowait()
                    began = time.perf_counter()
                    await (await conn.execute(UPDATE_PG, (target,))).fetchall()
                    latencies.append((time.perf_counter() - began) * 1000)

        began = time.perf_counter()
        await asyncio.gather(*(client() for _ in range(connections)))
        return len(targets) / (time.perf_counter() - began), latencies


def run_sqlite(path: Path, sessions: int, capacity: int, targets: list[int]) -> tuple[float, list[float]]:
    """The same on SQLite (WAL, synchronous=FULL, one transaction per request: SQLite has one writer)."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("CREATE TABLE IF NOT EXISTS sessions (id INTEGER PRIMARY KEY, capacity INT, reserved INT DEFAULT 0)")
    conn.executemany("INSERT INTO sessions (id, capacity) VALUES (?, ?)", [(i, capacity) for i in range(sessions)])
    latencies: list[float] = []
    began = time.perf_counter()
    for target in targets:
        start = time.perf_counter()
        conn.execute("BEGIN IMMEDIATE")
        conn.execute(UPDATE_SQLITE, (target,)).fetchall()
        conn.execute("COMMIT")
        latencies.append((time.perf_counter() - start) * 1000)
    rate = len(targets) / (time.perf_counter() - began)
    conn.close()
    return rate, latencies


def rush_targets(requests: int, sessions: int, seed: int = 7) -> list[int]:
    """Which session each request wants: every session, shuffled, as requests arrive in a rush."""
    rng = random.Random(seed)
    return [rng.randrange(sessions) for _ in range(requests)]
