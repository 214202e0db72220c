"""Release draws inside the quota application: who joins a waiting room, when a draw commits and closes.

A request for a date inside its draw window (`shared.draw.DrawWindow` around the date's release,
`shared.release`) joins the date's `ReleaseDraw` instead of being decided. The draw closes at the
first message or tick after the window's end, by the clock the batch was given (so a restarted
worker closes it too): the seed is checked against the commitment, the order drawn, the seed
revealed, and each entry offered a session, in that order, through the batch's normal decisions
(so it never overbooks). Requests decided in the same batch after it come behind (first come, first
served). Commitments are recorded by `tick`, `commit_lead` before each window opens.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import logging
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, Protocol
from uuid import UUID
from zoneinfo import ZoneInfo

from eventsourcing.application import AggregateNotFoundError

from shared.calendar import is_office_day
from shared.draw import DrawWindow, commitment
from shared.events import BookingCancelled, BookingRequested
from shared.offices import UnknownOffice, office_by_code
from shared.release import ReleaseSchedule

from .domain import Request
from .draw import ReleaseDraw, SeedMismatch, assign, entry

if TYPE_CHECKING:
    from eventsourcing.application import Repository

log = logging.getLogger(__name__)
Seeds = Callable[[str, dt.date], bytes]  # the secret seed of an office's date


def seeds_from_key(key: bytes) -> Seeds:
    """Each draw's seed from one secret key: HMAC-SHA256(key, "paspor draw seed:<office>:<date>").

    Nothing secret is stored per draw: a restarted worker derives the same seed, and reveals it.
    """
    if len(key) < 32:
        raise ValueError(f"the draw key must have at least 32 bytes (got {len(key)})")

    def seed(office: str, day: dt.date) -> bytes:
        return hmac.new(key, f"paspor draw seed:{office}:{day.isoformat()}".encode(), hashlib.sha256).digest()

    return seed


class Sessions(Protocol):
    """What a draw needs of the batch it closes in: the room of a session, and a place in its decisions."""

    def room(self, office: str, day: dt.date, session: str) -> int: ...

    def offer(self, office: str, day: dt.date, session: str, request: Request) -> None: ...


class DrawDesk:
    """Release draws for the dates of one schedule; remembers the draws that are over (per worker)."""

    def __init__(self, window: DrawWindow, seeds: Seeds, schedule: ReleaseSchedule) -> None:
        self.window, self.seeds, self.schedule = window, seeds, schedule
        self.settled: set[UUID] = set()  # drawn, or never committed and their window is over
        self._releases: dict[tuple[str, dt.date], dt.datetime | None] = {}
        self._ids: dict[tuple[str, dt.date], UUID] = {}

    def draw_id(self, office: str, day: dt.date) -> UUID:
        """`ReleaseDraw.id_for`, remembered: a rush asks it for every request."""
        key = (office, day)
        found = self._ids.get(key)
        if found is None:
            found = self._ids[key] = ReleaseDraw.id_for(office, day)
        return found

    def release_of(self, office: str, day: dt.date) -> dt.datetime | None:
        """When a date is released at an office (None: unknown office or not an office day)."""
        key = (office, day)
        if key not in self._releases:
            try:
                zone = ZoneInfo(office_by_code(office).timezone)
            except UnknownOffice:
                self._releases[key] = None
            else:
                released = self.schedule.opens_at(day, zone) if is_office_day(day) else None
                self._releases[key] = released.astimezone(dt.UTC) if released else None
        return self._releases[key]

    def round(self, repository: Repository, now: dt.datetime) -> DrawRound:
        return DrawRound(self, repository, now)

    def upcoming(self, offices: Iterable[str], now: dt.datetime) -> list[tuple[str, dt.date, dt.datetime]]:
        """Dates released yesterday, today or tomorrow (office time) at each office, with their release."""
        found = []
        for code in offices:
            zone = ZoneInfo(office_by_code(code).timezone)
            local = now.astimezone(zone).date()
            for shift in (-1, 0, 1):
                day = local + dt.timedelta(days=shift + self.schedule.window_days)
                released = self.release_of(code, day)
                if released is not None:
                    found.append((code, day, released))
        return found


class DrawRound:
    """What one batch does to the draws: joins gathered per draw, draws closed, commitments made."""

    def __init__(self, desk: DrawDesk, repository: Repository, now: dt.datetime) -> None:
        self.desk, self.repository, self.now = desk, repository, now
        self.draws: dict[UUID, ReleaseDraw] = {}
        self.joining: dict[UUID, list[dict[str, Any]]] = {}
        self.closed: list[UUID] = []

    def takes(self, message: BookingRequested, sessions: Sessions) -> bool:
        """True when the request joins a waiting room; a due draw of its date is closed first."""
        slot = message.slot
        released = self.desk.release_of(slot.office, slot.date)
        if released is None:
            return False
        if self.desk.window.contains(released, self.now):
            draw = self._draw(slot.office, slot.date, released, create=True)
            assert draw is not None  # created when missing
            if not draw.drawn:  # drawn already (a clock set back): decided as any request, never dropped
                self.joining.setdefault(draw.id, []).append(entry_of(message))
                return True
        if self.now >= self.desk.window.closes(released):
            self.close(slot.office, slot.date, sessions)
        return False

    def leave(self, message: BookingCancelled) -> bool:
        """A cancelled booking waiting in its date's room (or joining in this batch) leaves it."""
        slot, booking_id = message.slot, str(message.booking_id)
        draw_id = self.desk.draw_id(slot.office, slot.date)
        joining = self.joining.get(draw_id, [])
        self.joining[draw_id] = [e for e in joining if e["booking_id"] != booking_id]
        draw = self.draws.get(draw_id) or self._load(draw_id)
        if draw is None:
            return len(joining) != len(self.joining[draw_id])
        self._join(draw)
        self.draws[draw_id] = draw
        return draw.leave(booking_id, self.now)

    def close(self, office: str, day: dt.date, sessions: Sessions) -> None:
        """Draw a date whose window is over (once), and put its offers in the batch's decisions, in order."""
        draw_id = self.desk.draw_id(office, day)
        if draw_id in self.desk.settled or draw_id in self.closed:
            return
        draw = self.draws.get(draw_id) or self._load(draw_id)
        self.closed.append(draw_id)
        if draw is None or draw.drawn:
            return
        self.draws[draw_id] = draw
        self._join(draw)
        try:
            offers = draw.draw(self.desk.seeds(office, day), self.now)
        except SeedMismatch:  # the draw key changed: no other seed may be revealed; the draw waits for the key
            log.error("quota: the draw %s %s cannot be made: its seed does not match its commitment", office, day)
            return
        room = {s: sessions.room(office, day, s) for s in {s for o in offers for s in o["sessions"]}}
        for offer, session in assign(offers, room):
            sessions.offer(
                office, day, session, Request(offer["booking_id"], offer["correlation_id"], offer["causation_id"])
            )

    def tick(self, offices: Iterable[str], sessions: Sessions) -> None:
        """Commit the draws whose commitment is due, close those whose window is over."""
        window = self.desk.window
        for office, day, released in self.desk.upcoming(offices, self.now):
            draw_id = self.desk.draw_id(office, day)
            if draw_id in self.desk.settled:
                continue
            if window.commits(released, self.now) or window.contains(released, self.now):
                self._draw(office, day, released, create=True)
            elif self.now >= window.closes(released):
                self.close(office, day, sessions)

    def flush(self) -> list[ReleaseDraw]:
        """Record the gathered joins (one event per draw); every draw the round changed."""
        for draw_id in list(self.joining):
            if draw_id in self.draws:
                self._join(self.draws[draw_id])
        return [d for d in self.draws.values() if d.pending_events]

    def saved(self) -> None:
        """The round's changes are stored: the draws it closed need never be looked at again."""
        self.desk.settled.update(self.closed)

    def _join(self, draw: ReleaseDraw) -> None:
        entries = self.joining.pop(draw.id, [])
        if entries:
            draw.join(entries, self.now)

    def _draw(self, office: str, day: dt.date, released: dt.datetime, create: bool) -> ReleaseDraw | None:
        draw_id = self.desk.draw_id(office, day)
        draw = self.draws.get(draw_id) or self._load(draw_id)
        if draw is None and create:  # committed now: late if the window is open already (the audit says so)
            seed = self.desk.seeds(office, day)
            window = self.desk.window
            draw = ReleaseDraw(office, day, commitment(seed), window.opens(released), window.closes(released))
        if draw is not None:
            self.draws[draw_id] = draw
        return draw

    def _load(self, draw_id: UUID) -> ReleaseDraw | None:
        try:
            draw: object = self.repository.get(draw_id)
        except AggregateNotFoundError:
            return None
        return draw if isinstance(draw, ReleaseDraw) else None


def entry_of(message: BookingRequested) -> dict[str, Any]:
    """A request as an entry of its date's waiting room."""
    booking_id = str(message.booking_id)
    sessions = list(dict.fromkeys([message.slot.session.value, *(s.value for s in message.fallbacks)]))
    keys = list(message.draw_keys) or [booking_id]  # an older booking service sends none: the booking is unique
    return entry(booking_id, sessions, keys, str(message.correlation_id), str(message.message_id))


def waiting(repository: Repository, message: BookingRequested) -> dt.datetime | None:
    """When the draw a request waits for closes, or None if it does not wait (decided, or never joined)."""
    try:
        draw: object = repository.get(ReleaseDraw.id_for(message.slot.office, message.slot.date))
    except AggregateNotFoundError:
        return None
    if isinstance(draw, ReleaseDraw) and draw.holds(str(message.booking_id)) and not draw.drawn:
        return draw.closes_at
    return None
