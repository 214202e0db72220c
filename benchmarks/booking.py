"""Booking requests accepted per second, with and without grouped saves, in one run."""

from __future__ import annotations

import asyncio
import datetime as dt
import tempfile
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Literal

import typer
from rich.console import Console
from rich.table import Table

from services.booking.grouping import RequestGroups
from services.booking.main import BookingSettings, build_application
from shared import clock
from shared.calendar import is_office_day
from shared.events import Applicant, BookingView, Caller, RequestBooking

from .stores import fresh_database

OFFICES = ("JKT-SEL", "GRESIK", "DENPASAR", "MDN-TPI", "MAKASSAR", "MALANG")


def nik(serial: int) -> str:
    """A distinct, structurally valid NIK per serial (born 17 May 1990)."""
    return f"3174{serial // 9999 % 99 + 1:02d}170590{serial % 9999 + 1:04d}"


def requests(count: int, run: str) -> list[RequestBooking]:
    """`count` valid requests of distinct accounts, NIKs and devices, over offices and dates."""
    days = [d for d in (clock.now().date() + dt.timedelta(days=n) for n in range(3, 50)) if is_office_day(d)]
    return [
        RequestBooking(
            caller=Caller(provider="bench", subject=f"{run}-{i}", device_id=f"device-{run}-{i:07d}"),
            idempotency_key=f"key-{run}-{i}",
            kk_number=f"317401{i:010d}",
            slot={
                "office": OFFICES[i % len(OFFICES)],
                "date": days[i % len(days)],
                "session": ("pagi", "siang")[i % 2],
            },
            applicants=[Applicant(name="Applicant", nik=nik(i), birth_date="1990-05-17")],
        )
        for i in range(count)
    ]


async def rush(
    settings: BookingSettings, batch: list[RequestBooking], concurrency: int, group: int
) -> tuple[int, float, int]:
    """Accepted requests, seconds taken, and saves made, with `concurrency` requests in flight."""
    app = build_application(settings)
    writer = ThreadPoolExecutor(max_workers=1)
    groups = RequestGroups(app, writer, lambda: None, max_group=group)
    todo = iter(batch)
    accepted = 0

    async def client() -> None:
        nonlocal accepted
        for request in todo:
            outcome = await groups.submit(request)
            accepted += isinstance(outcome, BookingView)

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(concurrency)))
    elapsed = time.perf_counter() - started
    writer.shutdown()
    app.close()
    return accepted, elapsed, groups.groups


@contextmanager
def store(kind: str, postgres_server: str) -> Iterator[dict]:
    """Settings for a fresh, empty store of the kind asked for (removed afterwards)."""
    with tempfile.TemporaryDirectory(prefix="paspor-bench-") as folder:
        if kind != "postgres":
            yield {"event_store": kind, "data_dir": Path(folder)}
            return
        with fresh_database(kind, f"{postgres_server}/postgres") as url:
            yield {"event_store": "postgres", "postgres_url": url, "data_dir": Path(folder)}


def command(
    count: Annotated[int, typer.Option("--requests", help="Requests per mode.")] = 5000,
    concurrency: Annotated[int, typer.Option(help="Requests in flight at once.")] = 500,
    backend: Annotated[
        Literal["sqlite", "postgres", "memory"], typer.Option("--store", help="Event store.")
    ] = "sqlite",
    postgres_server: Annotated[
        str, typer.Option(help="PostgreSQL server (a database is created and dropped).")
    ] = "postgresql://postgres@127.0.0.1:5432",
    group: Annotated[int, typer.Option(help="Largest group in the grouped mode.")] = 500,
) -> None:
    """Booking requests accepted per second, with and without grouped saves (same run, same store kind)."""
    table = Table(
        title=f"booking service: {count} requests, {concurrency} in flight, {backend}, personal data encrypted"
    )
    for column in ("mode", "accepted", "saves", "seconds", "accepted/s"):
        table.add_column(column, justify="right" if column != "mode" else "left")
    for mode, size in (("one save per request", 1), (f"grouped saves (up to {group})", group)):
        with store(backend, postgres_server) as where:
            settings = BookingSettings(**where, booking_terms_version="", cipher_key=None)
            accepted, seconds, saves = asyncio.run(
                rush(settings, requests(count, uuid.uuid4().hex[:6]), concurrency, size)
            )
        table.add_row(mode, str(accepted), str(saves), f"{seconds:.2f}", f"{accepted / seconds:,.0f}")
    Console().print(table)
    Console().print("Terms acceptance is off (it happens at sign-up, before a rush); every other rule is checked.")
