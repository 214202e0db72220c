"""Fresh event stores for one benchmark run: a new PostgreSQL database, dropped afterwards, or none for SQLite."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import psycopg

from paspor.cluster.pgserver import temporary_database

from .report import console


@contextmanager
def fresh_database(backend: str, admin_url: str) -> Iterator[str | None]:
    """The URL of a new PostgreSQL database for one run (None for another backend), with a warning if commits
    on that server are not durable (the figures would flatter every contender)."""
    if backend != "postgres":
        yield None
        return
    with temporary_database(admin_url, prefix="paspor_bench") as url:
        with psycopg.connect(url) as conn:
            settings = [conn.execute(f"SHOW {s}").fetchone()[0] for s in ("synchronous_commit", "fsync")]
        if settings != ["on", "on"]:
            console.print(f"[yellow]warning:[/yellow] synchronous_commit/fsync = {settings}: commits are not durable")
        yield url
