"""The availability read model, kept current in memory from the quota service's KV bucket.

The quota service writes one entry per (office, date, session) after every batch; the gateway
watches the bucket, so showing the calendar or refusing a full session costs no message at all.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from zoneinfo import ZoneInfo

import nats.errors
from nats.js import JetStreamContext
from nats.js.kv import KV_DEL, KV_PURGE

from shared.events import AVAILABILITY_BUCKET, SessionAvailability, SessionRemaining, availability_key
from shared.offices import Office
from shared.release import NOT_RELEASED, OFFICE_CLOSED, ReleaseSchedule
from shared.runtime.bus import open_bucket
from shared.sessions import SESSIONS

log = logging.getLogger(__name__)


class AvailabilityView:
    """Remaining places per session, as the quota service last published them."""

    def __init__(
        self, window_days: int = 60, release_time: dt.time = dt.time(0, 0), draw_before: dt.timedelta | None = None
    ) -> None:
        self.schedule = ReleaseSchedule(window_days, release_time)  # the quota service's own (PASPOR_QUOTA_*)
        self.draw_before = draw_before  # a date's draw window opens this long before its release (None: no draws)
        self.entries: dict[str, SessionRemaining] = {}
        self.loaded = asyncio.Event()

    def apply(self, key: str, value: bytes | None) -> None:
        if value is None:
            self.entries.pop(key, None)
        else:
            self.entries[key] = SessionRemaining.model_validate_json(value)

    def remaining(self, office: Office, day: dt.date, session: str) -> SessionRemaining:
        entry = self.entries.get(availability_key(office.code, day, session))
        capacity = office.capacity_per_session
        return entry or SessionRemaining(capacity=capacity, booked=0, remaining=capacity)

    def full_or_closed(self, office: Office, day: dt.date, session: str) -> str | None:
        """`sold_out` or `office_closed` when the read model shows it; None otherwise (the pipeline decides)."""
        entry = self.entries.get(availability_key(office.code, day, session))
        if entry is None:
            return None
        if entry.closed:
            return OFFICE_CLOSED
        return "sold_out" if entry.booked >= entry.capacity else None

    def calendar(self, office: Office, start: dt.date, end: dt.date, now: dt.datetime) -> list[SessionAvailability]:
        days = (start + dt.timedelta(days=i) for i in range((end - start).days + 1))
        return [self.session(office, day, s, now) for day in days for s in SESSIONS]

    def session(self, office: Office, day: dt.date, session: str, now: dt.datetime) -> SessionAvailability:
        entry = self.remaining(office, day, session)
        reason = self.schedule.refusal_at(day, now, office.timezone) or (OFFICE_CLOSED if entry.closed else None)
        if reason == NOT_RELEASED and self.draw_before is not None:
            opens = self.schedule.opens_at(day, ZoneInfo(office.timezone))
            if now >= opens - self.draw_before:
                reason = None  # its release draw's waiting room is open: it may be asked for
        remaining = 0 if reason else max(entry.capacity - entry.booked, 0)
        return SessionAvailability(
            date=day,
            session=session,
            capacity=entry.capacity,
            booked=entry.booked,
            remaining=remaining,
            open=reason is None and remaining > 0,
            reason=reason or (None if remaining else "sold_out"),
        )

    async def follow(self, js: JetStreamContext, retry_after: float = 1.0) -> None:
        """Keep the view current for ever (a lost watch is started again)."""
        while True:
            try:
                await self._watch(js)
            except (TimeoutError, nats.errors.Error) as error:
                log.warning("gateway: availability watch lost (%s); watching again", error)
            await asyncio.sleep(retry_after)

    async def _watch(self, js: JetStreamContext) -> None:
        # Quota declares the bucket: it is waited for (created here only when no quota came in 10 s, which
        # NATS permissions refuse a deployed gateway, so the watch is tried again).
        kv = await open_bucket(js, AVAILABILITY_BUCKET)
        watcher = await kv.watchall()
        try:
            async for entry in watcher:
                if entry is None:  # the initial values are all in
                    self.loaded.set()
                    continue
                deleted = entry.operation in (KV_DEL, KV_PURGE)
                self.apply(entry.key, None if deleted else entry.value)
        finally:
            await watcher.stop()
