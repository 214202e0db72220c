"""The conventional alternative: one SQL row per session and a guarded counter, on PostgreSQL.

What a team would build instead of an event-sourced pipeline: a small FastAPI service on the same web
stack, a psycopg connection pool, prepared statements, and one durable transaction per booking:

    INSERT the booking (idempotent on account + key; one active booking per account, by a unique index)
    UPDATE sessions SET reserved = reserved + 1 WHERE ... AND reserved < capacity RETURNING reserved
    UPDATE the booking: confirmed with that queue number, or rejected (sold out)

Run it with `python -m paspor.rush.baseline --postgres-url ... --port ...`.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import uuid
from contextlib import asynccontextmanager

import psycopg
from fastapi import FastAPI
from fastapi.responses import JSONResponse
from psycopg_pool import AsyncConnectionPool
from pydantic import BaseModel, Field

SCHEMA = """
CREATE TABLE IF NOT EXISTS sessions (
    office text NOT NULL, day date NOT NULL, session text NOT NULL,
    capacity int NOT NULL, reserved int NOT NULL DEFAULT 0, issued int NOT NULL DEFAULT 0,
    PRIMARY KEY (office, day, session), CHECK (reserved <= capacity));
CREATE TABLE IF NOT EXISTS bookings (
    id uuid PRIMARY KEY, account text NOT NULL, idempotency_key text NOT NULL,
    office text NOT NULL, day date NOT NULL, session text NOT NULL, applicants int NOT NULL,
    status text NOT NULL, queue_number int, reason text, created_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (account, idempotency_key));
CREATE UNIQUE INDEX IF NOT EXISTS one_active_booking ON bookings (account) WHERE status IN ('requested', 'confirmed');
"""
INSERT = (
    "INSERT INTO bookings (id, account, idempotency_key, office, day, session, applicants, status) "
    "VALUES (%s, %s, %s, %s, %s, %s, %s, 'requested') ON CONFLICT (account, idempotency_key) DO NOTHING RETURNING id"
)
EXISTING = "SELECT id, status, queue_number, reason FROM bookings WHERE account = %s AND idempotency_key = %s"
# `issued` numbers the queue: a cancelled booking's number is never handed out twice.
RESERVE = (
    "UPDATE sessions SET reserved = reserved + 1, issued = issued + 1 WHERE office = %s AND day = %s "
    "AND session = %s AND reserved < capacity RETURNING issued"
)
DECIDE = "UPDATE bookings SET status = %s, queue_number = %s, reason = %s WHERE id = %s"
CANCEL = (
    "UPDATE bookings SET status = 'cancelled' WHERE id = %s AND account = %s AND status = 'confirmed' "
    "RETURNING office, day, session"
)
RELEASE = "UPDATE sessions SET reserved = reserved - 1 WHERE office = %s AND day = %s AND session = %s"


class BookingBody(BaseModel):
    account: str = Field(min_length=1, max_length=200)
    idempotency_key: str = Field(min_length=8, max_length=128)
    office: str = Field(min_length=2, max_length=16)
    date: dt.date
    session: str = Field(pattern="^(pagi|siang)$")
    applicants: int = Field(ge=1, le=5)


class SessionsBody(BaseModel):
    sessions: list[tuple[str, dt.date, str]]
    capacity: int = Field(ge=0)


def create_app(url: str | None = None, pool_size: int = 16) -> FastAPI:
    url = url or os.environ["PASPOR_BASELINE_POSTGRES_URL"]
    # prepare_threshold=0: every statement is prepared on its connection at first use.
    pool = AsyncConnectionPool(url, min_size=pool_size, max_size=pool_size, open=False, kwargs={"prepare_threshold": 0})

    @asynccontextmanager
    async def lifespan(_: FastAPI):
        await pool.open(wait=True)
        yield
        await pool.close()

    api = FastAPI(title="Conventional booking baseline", lifespan=lifespan)

    @api.get("/ready")
    async def ready() -> dict:
        return {"ready": True}

    @api.put("/v1/sessions")
    async def open_sessions(body: SessionsBody) -> dict:
        async with pool.connection() as conn:
            async with conn.cursor() as cur:
                await cur.executemany(
                    "INSERT INTO sessions (office, day, session, capacity) VALUES (%s, %s, %s, %s) "
                    "ON CONFLICT DO NOTHING",
                    [(*s, body.capacity) for s in body.sessions],
                )
        return {"sessions": len(body.sessions)}

    @api.post("/v1/bookings")
    async def book(body: BookingBody):
        async with pool.connection() as conn:
            for attempt in range(1, 4):
                try:
                    async with conn.transaction():
                        return await _book(conn, body)
                except psycopg.errors.UniqueViolation:
                    return JSONResponse({"code": "active_booking_exists"}, status_code=409)
                except psycopg.errors.DeadlockDetected:
                    if attempt == 3:  # two taps of one request racing on the unique indexes: try again
                        raise

    @api.post("/v1/bookings/{booking_id}/cancel")
    async def cancel(booking_id: uuid.UUID, account: str):
        async with pool.connection() as conn, conn.transaction():
            row = await (await conn.execute(CANCEL, (booking_id, account))).fetchone()
            if row is None:
                return JSONResponse({"code": "not_cancellable"}, status_code=409)
            await conn.execute(RELEASE, row)
        return {"booking_id": str(booking_id), "status": "cancelled"}

    return api


async def _book(conn: psycopg.AsyncConnection, body: BookingBody) -> dict:
    booking_id = uuid.uuid4()
    slot = (body.office, body.date, body.session)
    inserted = await (
        await conn.execute(INSERT, (booking_id, body.account, body.idempotency_key, *slot, body.applicants))
    ).fetchone()
    if inserted is None:  # the same request again (a double tap or a retry): the same answer
        found = await (await conn.execute(EXISTING, (body.account, body.idempotency_key))).fetchone()
        assert found is not None, "the insert conflicted with this very row"
        return {"booking_id": str(found[0]), "status": found[1], "queue_number": found[2], "reason": found[3]}
    reserved = await (await conn.execute(RESERVE, slot)).fetchone()
    status, number, reason = ("confirmed", reserved[0], None) if reserved else ("rejected", None, "sold_out")
    await conn.execute(DECIDE, (status, number, reason, booking_id))
    return {"booking_id": str(booking_id), "status": status, "queue_number": number, "reason": reason}


def create_schema(url: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(SCHEMA)


def main() -> None:
    import uvicorn

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres-url", required=True)
    parser.add_argument("--port", type=int, default=8090)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--pool-size", type=int, default=16)
    args = parser.parse_args()
    create_schema(args.postgres_url)
    os.environ["PASPOR_BASELINE_POSTGRES_URL"] = args.postgres_url
    os.environ["PASPOR_BASELINE_POOL_SIZE"] = str(args.pool_size)
    uvicorn.run(
        "paspor.rush.baseline:app_from_env",
        factory=True,
        host="127.0.0.1",
        port=args.port,
        workers=args.workers,
        log_level="warning",
        access_log=False,
    )


def app_from_env() -> FastAPI:
    return create_app(
        os.environ["PASPOR_BASELINE_POSTGRES_URL"], int(os.environ.get("PASPOR_BASELINE_POOL_SIZE", "16"))
    )


if __name__ == "__main__":
    main()
