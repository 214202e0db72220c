"""Tickets: issued per second (sign only, images later) against rendering the PNG eagerly at issue time; PNG renders/s."""

from __future__ import annotations

import datetime as dt
import tempfile
import time
import uuid
from pathlib import Path
from typing import Annotated

import typer
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from benchmarks.report import Figures, console, side_by_side
from services.notifier.application import NotifierApplication
from services.notifier.render import ticket_png
from services.notifier.schedule import schedule_of
from services.notifier.signing import verify
from shared import clock
from shared.events import BookingConfirmed, Slot
from shared.runtime.settings import CommonSettings
from shared.runtime.store import store_env

BATCH = 500


def confirmations(count: int) -> list[BookingConfirmed]:
    day = dt.date(2027, 1, 5)
    return [
        BookingConfirmed(
            booking_id=uuid.uuid4(),
            slot=Slot(office="JKT-SEL", date=day, session=("pagi", "siang")[i % 2]),
            applicants=1 + i % 5,
            queue_number=1 + i % 100,
        )
        for i in range(count)
    ]


def fresh_notifier() -> NotifierApplication:
    folder = Path(tempfile.mkdtemp(prefix="paspor-bench-tickets-"))
    return NotifierApplication(Ed25519PrivateKey.generate(), env=store_env(CommonSettings(data_dir=folder), "notifier"))


def issue_all(messages: list[BookingConfirmed], eager_png: bool, figures: Figures) -> None:
    """Tickets issued per second into a durable SQLite store (batches of 500), optionally rendering each PNG;
    the latencies are the time each batch took until its tickets were stored."""
    app, now = fresh_notifier(), clock.now()
    started = time.perf_counter()
    for start in range(0, len(messages), BATCH):
        batch, batch_started = messages[start : start + BATCH], time.perf_counter()
        app.apply_batch(batch, now)
        if eager_png:  # the conventional way: every ticket's image is made when it is issued
            for message in batch:
                ticket = app.ticket(message.booking_id)
                ticket_png.__wrapped__(ticket.payload, schedule_of(ticket, app.policy))
        figures.latencies_ms.append((time.perf_counter() - batch_started) * 1000)
    figures.rates.append(len(messages) / (time.perf_counter() - started))
    app.close()


def renders(count: int) -> tuple[float, float, float, int]:
    """PNG renders/s (fresh), cached PNGs/s, offline verifications/s, and the payload's length."""
    app = fresh_notifier()
    messages = confirmations(count)
    app.apply_batch(messages, clock.now())
    tickets = [app.ticket(m.booking_id) for m in messages]
    work = [(t.payload, schedule_of(t, app.policy)) for t in tickets]
    ticket_png.cache_clear()
    fresh = _rate(lambda: [ticket_png(p, s) for p, s in work], count)
    cached = _rate(lambda: [ticket_png(p, s) for p, s in work], count)
    keys, now = {app.key_id: app.signing_key.public_key()}, dt.datetime(2027, 1, 5, 2, tzinfo=dt.UTC)
    verified = _rate(lambda: [verify(t.payload, keys, now) for t in tickets], count)
    app.close()
    return fresh, cached, verified, len(tickets[0].payload)


def _rate(work, count: int) -> float:  # noqa: ANN001
    started = time.perf_counter()
    work()
    return count / (time.perf_counter() - started)


def command(
    tickets: Annotated[int, typer.Option(min=100, help="Tickets per run.")] = 2000,
    runs: Annotated[int, typer.Option(min=1, max=10, help="Runs of each contender (median reported).")] = 3,
) -> None:
    lazy, eager = Figures("issue: sign only, PNG on demand (ours)"), Figures("issue + eager PNG per ticket")
    for _ in range(runs):
        issue_all(confirmations(tickets), eager_png=False, figures=lazy)
        issue_all(confirmations(tickets), eager_png=True, figures=eager)
    side_by_side(
        f"Tickets issued/s ({tickets} per run, SQLite, batches of {BATCH}; ms per batch)", "tickets/s", lazy, eager
    )
    fresh, cached, verified, length = renders(min(tickets, 1000))
    console.print(
        f"PNG renders/s (QR + schedule, uncached): {fresh:,.0f}\n"
        f"PNG served from cache/s: {cached:,.0f}\n"
        f"offline verifications/s (Ed25519): {verified:,.0f}\n"
        f"payload: {length} characters"
    )
