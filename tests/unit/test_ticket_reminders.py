"""Reminders go out the day before, once, through the configured sink; a failing sink only delays them."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from ticket_story import DAY, at, cancelled, confirmed, issue, notifier

from services.notifier.reminders import FileSink, LogSink, Reminder, SinkFailed, WebhookSink, make_sink
from services.notifier.schedule import schedule_of
from services.notifier.sweeps import reminders_once

NINE = dt.time(9, 0)
EVE = DAY - dt.timedelta(days=1)


@pytest.fixture
def writer():
    with ThreadPoolExecutor(max_workers=1) as pool:
        yield pool


async def test_a_reminder_goes_out_the_day_before_from_nine_office_time_and_only_once(tmp_path, writer):
    app = notifier()
    booking, other_day, gone = confirmed(queue=4), confirmed(day=DAY + dt.timedelta(days=1)), confirmed()
    issue(app, booking, other_day, gone)
    app.apply_batch([cancelled(gone)], at("JKT-SEL", EVE, "08:00"))
    sink = FileSink(tmp_path / "reminders.jsonl")

    assert await reminders_once(app, writer, sink, at("JKT-SEL", EVE, "08:59"), NINE) == 0
    assert await reminders_once(app, writer, sink, at("JKT-SEL", EVE, "09:00"), NINE) == 1
    assert await reminders_once(app, writer, sink, at("JKT-SEL", EVE, "18:00"), NINE) == 0

    (line,) = (tmp_path / "reminders.jsonl").read_text().splitlines()
    sent = json.loads(line)
    assert (sent["booking_id"], sent["queue_number"], sent["starts_at"]) == (
        str(booking.booking_id),
        4,
        at("JKT-SEL", DAY, "08:00").astimezone(dt.timezone(dt.timedelta(hours=7))).isoformat(),
    )
    assert "nik" not in line.lower() and "Sesi pagi: 08:00-12:00 WIB" in sent["text"]


async def test_a_booking_made_after_nine_the_day_before_is_reminded_at_once(writer):
    app = notifier()
    issue(app, confirmed(session="siang"), now=at("JKT-SEL", EVE, "20:00"))
    assert await reminders_once(app, writer, LogSink(), at("JKT-SEL", EVE, "20:01"), NINE) == 1


async def test_when_the_sink_fails_the_reminder_is_tried_again_next_round(tmp_path, writer):
    app = notifier()
    issue(app, confirmed())
    calls: list[int] = []

    def flaky(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        return httpx.Response(503 if len(calls) <= 3 else 200)

    sink = WebhookSink("http://sink.invalid/reminders", attempts=2, backoff=0, transport=httpx.MockTransport(flaky))
    assert await reminders_once(app, writer, sink, at("JKT-SEL", EVE, "10:00"), NINE) == 0
    assert len(calls) == 2, "two attempts in the first round"
    assert await reminders_once(app, writer, sink, at("JKT-SEL", EVE, "10:01"), NINE) == 1
    assert len(calls) == 4


async def test_the_webhook_retries_transport_errors_and_gives_up_on_a_refusal():
    app = notifier()
    (booking,) = [confirmed()]
    issue(app, booking)
    reminder = Reminder(schedule_of(app.ticket(booking.booking_id), app.policy))
    seen: list[httpx.Request] = []

    def down_then_up(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if len(seen) == 1:
            raise httpx.ConnectError("connection refused")
        return httpx.Response(204)

    await WebhookSink("http://sink.invalid/r", backoff=0, transport=httpx.MockTransport(down_then_up)).send(reminder)
    assert len(seen) == 2 and seen[1].headers["Idempotency-Key"] == f"reminder-{booking.booking_id}"
    refusing = WebhookSink(
        "http://sink.invalid/r", backoff=0, transport=httpx.MockTransport(lambda r: httpx.Response(400))
    )
    with pytest.raises(SinkFailed):
        await refusing.send(reminder)


def test_sinks_are_chosen_by_configuration(tmp_path):
    assert isinstance(make_sink("log"), LogSink)
    assert isinstance(make_sink(f"file:{tmp_path}/r.jsonl"), FileSink)
    assert isinstance(make_sink("https://sms.example/hook"), WebhookSink)
    with pytest.raises(ValueError):
        make_sink("carrier-pigeon")
    asyncio.run(FileSink(tmp_path / "deep" / "r.jsonl").send(Reminder(_any_schedule())))
    assert (tmp_path / "deep" / "r.jsonl").exists()


def _any_schedule():
    app = notifier()
    booking = confirmed()
    issue(app, booking)
    return schedule_of(app.ticket(booking.booking_id), app.policy)


def test_a_closed_ticket_leaves_the_roster_whole_while_the_days_list_keeps_it():
    app = notifier()
    kept, gone = confirmed(queue=1), confirmed(queue=2)
    issue(app, kept, gone)
    app.apply_batch([cancelled(gone)], at("JKT-SEL", EVE, "08:00"))

    assert set(app.roster.open) == {kept.booking_id}, "only the open ticket is watched by the sweeps"
    assert list(app.roster._booking_of.values()) == [kept.booking_id], "nothing is kept of the closed one"
    assert app.roster.booked_on("JKT-SEL", DAY) == [kept.booking_id, gone.booking_id], "the desk's list keeps both"
