"""Background rounds: no-shows after each session, reminders the day before. Never on the booking path."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Callable
from concurrent.futures import Executor

from .application import NotifierApplication
from .reminders import Reminder, Sink, SinkFailed
from .schedule import schedule_of

log = logging.getLogger(__name__)
Clock = Callable[[], dt.datetime]
PER_ROUND = 200  # reminders sent at once; the rest wait for the next round


async def no_shows_once(app: NotifierApplication, writer: Executor, now: dt.datetime) -> int:
    """Record the no-shows of every session whose check-in window has closed."""
    return await asyncio.get_running_loop().run_in_executor(writer, app.sweep_no_shows, now)


async def reminders_once(
    app: NotifierApplication, writer: Executor, sink: Sink, now: dt.datetime, send_at: dt.time
) -> int:
    """Send the reminders that are due; those the sink could not deliver are tried next round."""
    loop = asyncio.get_running_loop()
    due = (await loop.run_in_executor(writer, app.due_reminders, now, send_at))[:PER_ROUND]
    results = await asyncio.gather(*(_send(sink, Reminder(schedule_of(t, app.policy))) for t in due))
    sent = [t.booking_id for t, ok in zip(due, results, strict=True) if ok]
    await loop.run_in_executor(writer, app.record_reminded, sent, now)
    return len(sent)


async def _send(sink: Sink, reminder: Reminder) -> bool:
    try:
        await sink.send(reminder)
    except SinkFailed as error:
        log.warning("reminder for booking %s not delivered: %s", reminder.schedule.booking_id, error)
        return False
    return True


async def every(seconds: float, round_: Callable[[], object], on_done: Callable[[], None], name: str) -> None:
    """Run a round forever, `seconds` apart; a failed round is logged and tried again next time."""
    while True:
        try:
            if await round_():  # type: ignore[misc]
                on_done()
        except Exception:  # a store or sink hiccup must not stop the service's other work; logged loudly
            log.exception("notifier: %s round failed; trying again in %.0f s", name, seconds)
        await asyncio.sleep(seconds)
