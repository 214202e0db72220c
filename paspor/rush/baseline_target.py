"""The conventional baseline as a rush target: a fresh PostgreSQL database, its server processes, its own check."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import psycopg

from ..natsserver import free_port
from .baseline import new_signing_key
from .release import Release
from .scenario import Slot

NAME = "conventional (FastAPI + PostgreSQL)"
# Each check counts what is wrong; every one must be 0.
CHECKS = {
    "over_capacity": "SELECT count(*) FROM sessions WHERE reserved > capacity",
    "counter_drift": (
        "SELECT count(*) FROM sessions s WHERE reserved <> (SELECT count(*) FROM bookings b WHERE b.office = s.office "
        "AND b.day = s.day AND b.session = s.session AND b.status = 'confirmed')"
    ),
    "queue_number_twice": (
        "SELECT count(*) FROM (SELECT 1 FROM bookings WHERE status = 'confirmed' "
        "GROUP BY office, day, session, queue_number HAVING count(*) > 1) d"
    ),
    "account_with_two_upcoming": (
        "SELECT count(*) FROM (SELECT 1 FROM bookings WHERE status IN ('requested', 'confirmed') "
        "GROUP BY account HAVING count(*) > 1) d"
    ),
    "nik_with_two_upcoming": (
        "SELECT count(*) FROM (SELECT 1 FROM booking_niks n JOIN bookings b ON b.id = n.booking_id "
        "WHERE b.status IN ('requested', 'confirmed') GROUP BY n.nik HAVING count(*) > 1) d"
    ),
    "nik_claim_of_no_upcoming_booking": (
        "SELECT count(*) FROM booking_niks n JOIN bookings b ON b.id = n.booking_id "
        "WHERE n.upcoming AND b.status NOT IN ('requested', 'confirmed')"
    ),
    "undecided_bookings": "SELECT count(*) FROM bookings WHERE status = 'requested'",
}


class BaselineServer:
    """A fresh database on the PostgreSQL server and the baseline service on a free port; both gone on stop."""

    name = NAME

    def __init__(
        self,
        admin_url: str = "postgresql://postgres@127.0.0.1:5432/postgres",
        workers: int = 2,
        log: Path | None = None,
    ) -> None:
        self.admin_url, self.workers, self.log = admin_url, workers, log
        self.database = f"paspor_rush_baseline_{uuid.uuid4().hex[:10]}"
        self.url = admin_url.rsplit("/", 1)[0] + f"/{self.database}"
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 30.0) -> None:
        try:
            with psycopg.connect(self.admin_url, autocommit=True, connect_timeout=5) as conn:
                conn.execute(f'CREATE DATABASE "{self.database}"')
        except psycopg.OperationalError as error:
            raise RuntimeError(f"cannot create the baseline's database on {self.admin_url}: {error}") from None
        command = [sys.executable, "-m", "paspor.rush.baseline", "--postgres-url", self.url, "--port", str(self.port)]
        command += ["--workers", str(self.workers)]
        env = {"PASPOR_BASELINE_SIGNING_KEY": new_signing_key()}
        output = open(self.log, "ab") if self.log else subprocess.DEVNULL  # noqa: SIM115 - the child keeps it
        self.process = subprocess.Popen(
            command, stdin=subprocess.DEVNULL, stdout=output, stderr=output, env=dict(os.environ) | env
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the baseline service exited with code {self.process.returncode}")
            try:
                if httpx.get(f"{self.base_url}/ready", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.2)
        raise RuntimeError("the baseline service did not become ready")

    def open_sessions(self, release: Release) -> None:
        """The same sessions as the system's release, with the same room left in each."""
        fresh = release.room_left()
        sessions = [(office, day.isoformat(), session, room) for (office, day, session), room in fresh.capacity.items()]
        httpx.put(f"{self.base_url}/v1/sessions", json={"sessions": sessions}, timeout=30).raise_for_status()

    def check(self) -> dict[str, int]:
        """The baseline's own audit: every count is of something wrong."""
        with psycopg.connect(self.url) as conn:
            return {name: _single_value(conn, sql) for name, sql in CHECKS.items()}

    def booked(self) -> dict[Slot, int]:
        with psycopg.connect(self.url) as conn:
            rows = conn.execute("SELECT office, day, session, reserved FROM sessions").fetchall()
        return {(office, day, session): reserved for office, day, session, reserved in rows}

    def durability(self) -> dict[str, str]:
        """What the server says about durable commits (the baseline asks for synchronous_commit = on)."""
        with psycopg.connect(self.url, options="-c synchronous_commit=on") as conn:
            return {s: _single_value(conn, f"SHOW {s}") for s in ("synchronous_commit", "fsync")}

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)')


def _single_value(conn: psycopg.Connection, sql: str) -> Any:
    """The one value of a query that always answers one row (a count, a SHOW); RuntimeError if it answered none."""
    row = conn.execute(sql).fetchone()
    if row is None:
        raise RuntimeError(f"no row from {sql!r}")
    return row[0]
