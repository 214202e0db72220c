"""The conventional alternative: the booking app a team would build with FastAPI and PostgreSQL.

It enforces the rules a real app must, with the same public API as the gateway (so the rush's client
is the same for both):

- token verification: every call carries a signed JWT (EdDSA, like the gateway's development issuer),
  verified per request (signature, issuer, audience, expiry);
- accounts bound to one device, and the terms accepted before booking;
- idempotency keys: the same key gets the same answer (a unique index on account + key);
- one upcoming booking per account and per NIK (partial unique indexes);
- capacity per session (a guarded counter: `UPDATE ... WHERE reserved < capacity`), queue numbers
  never given twice;
- one durable transaction per booking (`synchronous_commit = on`).

Run it with `python -m paspor.rush.baseline --postgres-url ... --port ... --workers 2`.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import uuid
from contextlib import asynccontextmanager
from typing import Annotated, Any

import jwt
import psycopg
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat, load_pem_private_key
from fastapi import Depends, FastAPI, Header, Request
from fastapi.responses import JSONResponse
from psycopg_pool import AsyncConnectionPool
from pydantic import BaseModel, ConfigDict, Field

ISSUER, AUDIENCE, PROVIDER = "paspor-baseline-dev", "antrian-paspor", "dev"
TERMS_VERSION = "2026.1"
TOKEN_HOURS = 12

SCHEMA = """
CREATE TABLE IF NOT EXISTS accounts (
    account text PRIMARY KEY, device_id text NOT NULL, terms_version text, terms_at timestamptz);
CREATE TABLE IF NOT EXISTS sessions (
    office text NOT NULL, day date NOT NULL, session text NOT NULL,
    capacity int NOT NULL, reserved int NOT NULL DEFAULT 0, issued int NOT NULL DEFAULT 0,
    PRIMARY KEY (office, day, session), CHECK (reserved <= capacity));
CREATE TABLE IF NOT EXISTS bookings (
    id uuid PRIMARY KEY, account text NOT NULL REFERENCES accounts, idempotency_key text NOT NULL,
    office text NOT NULL, day date NOT NULL, session text NOT NULL, kk_number text NOT NULL, applicants int NOT NULL,
    status text NOT NULL, queue_number int, reason text, created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT same_key_same_booking UNIQUE (account, idempotency_key));
CREATE UNIQUE INDEX IF NOT EXISTS one_upcoming_booking_per_account ON bookings (account)
    WHERE status IN ('requested', 'confirmed');
CREATE UNIQUE INDEX IF NOT EXISTS one_queue_number_per_session ON bookings (office, day, session, queue_number)
    WHERE status = 'confirmed';
CREATE TABLE IF NOT EXISTS booking_niks (
    booking_id uuid NOT NULL REFERENCES bookings, nik text NOT NULL, birth_date date NOT NULL,
    upcoming boolean NOT NULL DEFAULT true, PRIMARY KEY (booking_id, nik));
CREATE UNIQUE INDEX IF NOT EXISTS one_upcoming_booking_per_nik ON booking_niks (nik) WHERE upcoming;
"""
ACCOUNT = "SELECT device_id, terms_version FROM accounts WHERE account = %s"
ACCEPT_TERMS = (
    "INSERT INTO accounts (account, device_id, terms_version, terms_at) VALUES (%s, %s, %s, now()) "
    "ON CONFLICT (account) DO UPDATE SET terms_version = excluded.terms_version, terms_at = now() "
    "WHERE accounts.device_id = excluded.device_id RETURNING device_id"
)
INSERT = (
    "INSERT INTO bookings (id, account, idempotency_key, office, day, session, kk_number, applicants, status) "
    "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, 'requested') ON CONFLICT (account, idempotency_key) DO NOTHING "
    "RETURNING id"
)
EXISTING = (
    "SELECT id, office, day, session, applicants, status, queue_number, reason FROM bookings "
    "WHERE account = %s AND idempotency_key = %s"
)
CLAIM_NIKS = (
    "INSERT INTO booking_niks (booking_id, nik, birth_date) "
    "SELECT %s, nik, birth FROM unnest(%s::text[], %s::date[]) AS claimed(nik, birth)"
)
# `issued` numbers the queue: a cancelled booking's number is never handed out again.
RESERVE = (
    "UPDATE sessions SET reserved = reserved + 1, issued = issued + 1 WHERE office = %s AND day = %s "
    "AND session = %s AND reserved < capacity RETURNING issued"
)
SESSION_EXISTS = "SELECT 1 FROM sessions WHERE office = %s AND day = %s AND session = %s"
DECIDE = "UPDATE bookings SET status = %s, queue_number = %s, reason = %s WHERE id = %s"
FREE_NIKS = "UPDATE booking_niks SET upcoming = false WHERE booking_id = %s"
FIND = (
    "SELECT id, office, day, session, applicants, status, queue_number, reason FROM bookings "
    "WHERE id = %s AND account = %s"
)
CANCEL = (
    "UPDATE bookings SET status = 'cancelled', reason = 'cancelled_by_citizen' WHERE id = %s AND account = %s "
    "AND status = 'confirmed' RETURNING office, day, session"
)
RELEASE = "UPDATE sessions SET reserved = reserved - 1 WHERE office = %s AND day = %s AND session = %s"
PROBLEMS = {
    "unauthenticated": 401,
    "terms_not_accepted": 403,
    "account_bound_to_other_device": 403,
    "booking_not_found": 404,
    "active_booking_exists": 409,
    "nik_already_booked": 409,
    "not_cancellable": 409,
    "unknown_terms_version": 409,
}
CONSTRAINT_CODES = {
    "one_upcoming_booking_per_account": "active_booking_exists",
    "one_upcoming_booking_per_nik": "nik_already_booked",
}


class Refused(Exception):
    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


class Applicant(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=120)
    nik: str = Field(pattern=r"^\d{16}$")
    birth_date: dt.date


class BookingBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    office: str = Field(min_length=2, max_length=16)
    date: dt.date
    session: str = Field(pattern="^(pagi|siang)$")
    kk_number: str = Field(pattern=r"^\d{16}$")
    applicants: list[Applicant] = Field(min_length=1, max_length=5)


class TokenBody(BaseModel):
    subject: str = Field(min_length=1, max_length=200)


class TermsBody(BaseModel):
    version: str = Field(min_length=1, max_length=40)


class SessionsBody(BaseModel):
    sessions: list[tuple[str, dt.date, str, int]]  # office, date, session, capacity


def new_signing_key() -> str:
    """A fresh Ed25519 key as PEM: every worker process of one server signs and verifies with it."""
    key = Ed25519PrivateKey.generate()
    return key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()).decode()


def caller(request: Request, authorization: Annotated[str | None, Header()] = None) -> str:
    """The verified caller, from a bearer token checked on every request."""
    if not authorization or not authorization.lower().startswith("bearer "):
        raise Refused("unauthenticated")
    try:
        claims = jwt.decode(
            authorization[7:].strip(),
            request.app.state.public_key,
            algorithms=["EdDSA"],
            audience=AUDIENCE,
            issuer=ISSUER,
            options={"require": ["exp", "sub", "iss"]},
            leeway=30,
        )
    except jwt.PyJWTError:
        raise Refused("unauthenticated") from None
    return f"{PROVIDER}:{claims['sub']}"


Account = Annotated[str, Depends(caller)]
Device = Annotated[str, Header(alias="X-Device-Id", min_length=8, max_length=128)]
Key = Annotated[str, Header(alias="Idempotency-Key", min_length=8, max_length=128)]


def problem(code: str) -> JSONResponse:
    status = PROBLEMS.get(code, 400)
    return JSONResponse({"status": status, "code": code, "title": code.replace("_", " ")}, status_code=status)


def create_app(url: str, signing_key_pem: str, pool_size: int = 16) -> FastAPI:
    key = load_pem_private_key(signing_key_pem.encode(), password=None)
    if not isinstance(key, Ed25519PrivateKey):  # the tokens are signed with EdDSA
        raise ValueError(f"the signing key must be an Ed25519 private key, not {type(key).__name__}")
    public_key = key.public_key()
    # Durable commits, stated rather than assumed; every statement prepared on its connection at first use.
    pool = AsyncConnectionPool(
        url,
        min_size=pool_size,
        max_size=pool_size,
        open=False,
        kwargs={"prepare_threshold": 0, "options": "-c synchronous_commit=on"},
    )

    @asynccontextmanager
    async def lifespan(_: FastAPI):
        await pool.open(wait=True)
        yield
        await pool.close()

    api = FastAPI(title="Conventional booking baseline", lifespan=lifespan)
    api.state.public_key = public_key

    @api.exception_handler(Refused)
    async def refused(_, error: Refused) -> JSONResponse:
        return problem(error.code)

    @api.get("/ready")
    async def ready() -> dict:
        return {"ready": True}

    @api.post("/v1/dev/token")
    async def token(body: TokenBody) -> dict:
        now = dt.datetime.now(dt.UTC)  # a token's issue time and expiry are the real time, as any issuer's
        claims = {
            "iss": ISSUER,
            "aud": AUDIENCE,
            "sub": body.subject,
            "iat": now,
            "exp": now + dt.timedelta(hours=TOKEN_HOURS),
            "jti": uuid.uuid4().hex,
        }
        return {"access_token": jwt.encode(claims, key, algorithm="EdDSA"), "token_type": "bearer"}

    @api.get("/v1/me/terms")
    async def terms(who: Account) -> dict:
        return {"current_version": TERMS_VERSION}

    @api.post("/v1/me/terms")
    async def accept_terms(body: TermsBody, who: Account, device: Device) -> dict:
        if body.version != TERMS_VERSION:
            raise Refused("unknown_terms_version")
        async with pool.connection() as conn:
            row = await (await conn.execute(ACCEPT_TERMS, (who, device, body.version))).fetchone()
        if row is None:
            raise Refused("account_bound_to_other_device")
        return {"current_version": TERMS_VERSION, "accepted_version": body.version}

    @api.put("/v1/sessions")
    async def open_sessions(body: SessionsBody) -> dict:
        async with pool.connection() as conn, conn.cursor() as cur:
            await cur.executemany(
                "INSERT INTO sessions (office, day, session, capacity) VALUES (%s, %s, %s, %s) ON CONFLICT DO NOTHING",
                body.sessions,
            )
        return {"sessions": len(body.sessions)}

    @api.post("/v1/bookings", status_code=201)
    async def book(body: BookingBody, who: Account, device: Device, key: Key) -> dict:
        async with pool.connection() as conn:
            for attempt in range(1, 4):
                try:
                    async with conn.transaction():
                        return await _book(conn, who, device, key, body)
                except psycopg.errors.UniqueViolation as error:
                    code = CONSTRAINT_CODES.get(error.diag.constraint_name or "")
                    if code is None:
                        raise
                    raise Refused(code) from None
                except (psycopg.errors.DeadlockDetected, psycopg.errors.SerializationFailure):
                    if attempt == 3:
                        raise
        raise AssertionError("unreachable")

    @api.get("/v1/bookings/{booking_id}")
    async def get_booking(booking_id: uuid.UUID, who: Account) -> dict:
        async with pool.connection() as conn:
            row = await (await conn.execute(FIND, (booking_id, who))).fetchone()
        if row is None:
            raise Refused("booking_not_found")
        return view(row)

    @api.post("/v1/bookings/{booking_id}/cancel")
    async def cancel(booking_id: uuid.UUID, who: Account) -> dict:
        async with pool.connection() as conn, conn.transaction():
            slot = await (await conn.execute(CANCEL, (booking_id, who))).fetchone()
            if slot is None:
                raise Refused("not_cancellable")
            await conn.execute(RELEASE, slot)
            await conn.execute(FREE_NIKS, (booking_id,))
            row = await (await conn.execute(FIND, (booking_id, who))).fetchone()
        return view(row)

    return api


async def _book(conn: psycopg.AsyncConnection, who: str, device: str, key: str, body: BookingBody) -> dict:
    found = await (await conn.execute(ACCOUNT, (who,))).fetchone()
    if found is None or found[1] != TERMS_VERSION:
        raise Refused("terms_not_accepted")
    if found[0] != device:
        raise Refused("account_bound_to_other_device")
    booking_id, slot = uuid.uuid4(), (body.office, body.date, body.session)
    row = (who, key, *slot, body.kk_number, len(body.applicants))
    if await (await conn.execute(INSERT, (booking_id, *row))).fetchone() is None:
        # The same key again (a double tap, or a retry): the same booking, the same answer.
        return view(await (await conn.execute(EXISTING, (who, key))).fetchone())
    niks, births = [a.nik for a in body.applicants], [a.birth_date for a in body.applicants]
    await conn.execute(CLAIM_NIKS, (booking_id, niks, births))
    reserved = await (await conn.execute(RESERVE, slot)).fetchone()
    if reserved:
        status, number, reason = "confirmed", reserved[0], None
    else:
        exists = await (await conn.execute(SESSION_EXISTS, slot)).fetchone()
        status, number, reason = "rejected", None, "sold_out" if exists else "not_released"
        await conn.execute(FREE_NIKS, (booking_id,))
    await conn.execute(DECIDE, (status, number, reason, booking_id))
    return view((booking_id, *slot, len(body.applicants), status, number, reason))


def view(row: Any) -> dict:
    booking_id, office, day, session, applicants, status, number, reason = row
    return {
        "booking_id": str(booking_id),
        "slot": {"office": office, "date": day.isoformat(), "session": session},
        "status": status,
        "applicants": applicants,
        "queue_number": number,
        "reason": reason,
    }


def create_schema(url: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(SCHEMA)


def app_from_env() -> FastAPI:
    return create_app(
        os.environ["PASPOR_BASELINE_POSTGRES_URL"],
        os.environ["PASPOR_BASELINE_SIGNING_KEY"],
        int(os.environ.get("PASPOR_BASELINE_POOL_SIZE", "16")),
    )


def main() -> None:
    import uvicorn

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres-url", required=True)
    parser.add_argument("--port", type=int, default=8090)
    parser.add_argument("--workers", type=int, default=2, help="uvicorn worker processes (default 2)")
    parser.add_argument("--pool-size", type=int, default=16, help="PostgreSQL connections per worker")
    args = parser.parse_args()
    if args.workers < 1 or args.pool_size < 1 or not 0 < args.port < 65536:
        parser.error("--workers and --pool-size must be at least 1, --port 1 to 65535")
    create_schema(args.postgres_url)
    os.environ["PASPOR_BASELINE_POSTGRES_URL"] = args.postgres_url
    os.environ["PASPOR_BASELINE_POOL_SIZE"] = str(args.pool_size)
    os.environ.setdefault("PASPOR_BASELINE_SIGNING_KEY", new_signing_key())
    uvicorn.run(
        "paspor.rush.baseline:app_from_env",
        factory=True,
        host="127.0.0.1",
        port=args.port,
        workers=args.workers,
        log_level="warning",
        access_log=False,
    )


if __name__ == "__main__":
    main()
