"""The conventional baseline as a rush target: its own PostgreSQL database and server process, same users."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
import uuid

import httpx
import psycopg

from ..natsserver import free_port
from .outcome import CONFIRMED, FAILED, REFUSED, Answer
from .scenario import Scenario, Slot, User

RETRYABLE = {429, 500, 502, 503, 504}


class BaselineServer:
    """A fresh database on the PostgreSQL server and the baseline service on a free port; both gone on stop."""

    def __init__(
        self, admin_url: str = "postgresql://postgres@127.0.0.1:5432/postgres", workers: int | None = None
    ) -> None:
        self.admin_url, self.workers = admin_url, workers
        self.database = f"paspor_rush_baseline_{uuid.uuid4().hex[:10]}"
        self.url = admin_url.rsplit("/", 1)[0] + f"/{self.database}"
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 30.0) -> None:
        with psycopg.connect(self.admin_url, autocommit=True, connect_timeout=5) as conn:
            conn.execute(f'CREATE DATABASE "{self.database}"')
        command = [sys.executable, "-m", "paspor.rush.baseline", "--postgres-url", self.url, "--port", str(self.port)]
        if self.workers:
            command += ["--workers", str(self.workers)]
        self.process = subprocess.Popen(command, stdin=subprocess.DEVNULL)
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

    def check(self) -> dict[str, int]:
        """The baseline's own audit: sessions over capacity, and sessions whose counter disagrees with its bookings."""
        with psycopg.connect(self.url) as conn:
            over = _count(conn, "SELECT count(*) FROM sessions WHERE reserved > capacity")
            drift = _count(
                conn,
                "SELECT count(*) FROM sessions s WHERE reserved <> (SELECT count(*) FROM bookings b WHERE b.office = s.office "
                "AND b.day = s.day AND b.session = s.session AND b.status = 'confirmed')",
            )
            duplicated = _count(
                conn,
                "SELECT count(*) FROM (SELECT 1 FROM bookings WHERE status = 'confirmed' GROUP BY office, day, session, "
                "queue_number HAVING count(*) > 1) d",
            )
        return {"over_capacity": over, "counter_drift": drift, "queue_number_duplicated": duplicated}

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


class BaselineTarget:
    """Books on the baseline service with the same users, choices, double taps and cancellations."""

    name = "conventional (SQL counter)"

    def __init__(self, url: str, run: int, scenario: Scenario, capacity: int = 100, retries: int = 4) -> None:
        self.url, self.run, self.scenario, self.capacity, self.retries = url, run, scenario, capacity, retries

    async def open_sessions(self, client: httpx.AsyncClient) -> None:
        sessions = [(o, d.isoformat(), s) for o, d, s in self.scenario.sessions()]
        (
            await client.put(f"{self.url}/v1/sessions", json={"sessions": sessions, "capacity": self.capacity})
        ).raise_for_status()

    async def prepare(self, client: httpx.AsyncClient, user: User) -> None:
        """Nothing to sign in to: the baseline trusts the account it is given (an advantage it keeps)."""

    async def book(self, client: httpx.AsyncClient, user: User, slot: Slot, key: str) -> Answer:
        office, day, session = slot
        body = {
            "account": self._account(user),
            "idempotency_key": key,
            "office": office,
            "date": day.isoformat(),
            "session": session,
            "applicants": user.applicants,
        }
        for attempt in range(self.retries + 1):
            try:
                response = await client.post(f"{self.url}/v1/bookings", json=body)
            except httpx.TransportError:
                response = None
            if response is not None and response.status_code not in RETRYABLE:
                return _answer(response, attempt + 1, attempt)
            await asyncio.sleep(min(0.2 * 2**attempt, 3.0))
        return Answer(
            FAILED,
            "transport_error" if response is None else f"http_{response.status_code}",
            calls=self.retries + 1,
            retries=self.retries,
        )

    async def cancel(self, client: httpx.AsyncClient, user: User, booking_id: str) -> bool:
        response = await client.post(
            f"{self.url}/v1/bookings/{booking_id}/cancel", params={"account": self._account(user)}
        )
        return response.status_code == 200

    def _account(self, user: User) -> str:
        return f"rush-{self.run}-{user.serial}"


def _answer(response: httpx.Response, calls: int, retries: int) -> Answer:
    body = response.json()
    if response.status_code >= 400:
        return Answer(REFUSED, body.get("code", f"http_{response.status_code}"), calls=calls, retries=retries)
    if body["status"] == "confirmed":
        return Answer(CONFIRMED, None, body["booking_id"], body["queue_number"], calls, retries)
    return Answer(REFUSED, body.get("reason") or body["status"], body["booking_id"], calls=calls, retries=retries)


def _count(conn: psycopg.Connection, query: str) -> int:
    row = conn.execute(query).fetchone()
    assert row is not None, "count(*) answers one row"
    return row[0]
