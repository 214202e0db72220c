"""Bots against people at a release, first come first served and with a draw, from one population in one run.

`paspor rush --bots 0.10 --bot-speed 20` makes a share of the scenario's identities bots: they arrive at
the exact release instant and, refused, try their next choice `bot_speed` times sooner than a person
(who takes 1-4 s to read "sold out" and tap again). The same people and bots then meet two quota
services, each on its own SQLite event store: one releasing first come first served, one with a
release draw (ADR 10). Time is simulated (every request reaches the judge at its instant, with no
network between), so the figures are those of the release rule, not of a client's speed: what share
of the confirmed places the bots win in each, and how fast the waiting room takes joins beside how
fast the same judge decides requests.

The booking service's rules that matter here are kept: one upcoming booking per NIK (a broker
using another's NIK is refused while it is held), and an identity waiting in a draw does not ask again.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import heapq
import random
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from services.quota.application import QuotaApplication
from services.quota.draws import DrawDesk, seeds_from_key
from shared.calendar import is_office_day
from shared.draw import DrawWindow
from shared.events import BookingRequested, Slot
from shared.offices import office_by_code
from shared.release import ReleaseSchedule
from shared.sessions import SESSIONS

from .scenario import Scenario, User, population

FIRST_DATE = dt.date(2027, 3, 1)  # the rehearsal's dates: the first office days from here (no clock read)
SLICE = 0.05  # seconds of simulated time decided in one batch (a worker's batch in a rush)
THINK = (1.0, 4.0)  # seconds a person takes to try again after a refusal


class InvalidBots(ValueError):
    """A bots option out of its range."""


@dataclass(frozen=True)
class Bots:
    """Which share of the identities are bots, and how much faster than a person they retry."""

    share: float = 0.10
    speed: float = 20.0

    def __post_init__(self) -> None:
        if not 0 < self.share < 1:
            raise InvalidBots(f"--bots must be a share above 0 and below 1, got {self.share}")
        if not 1 <= self.speed <= 10_000:
            raise InvalidBots(f"--bot-speed must be 1 to 10,000, got {self.speed}")


@dataclass
class Outcome:
    """What one release rule gave: confirmed identities, and the judge's own time on each kind of request."""

    mode: str
    confirmed: dict[int, tuple[str, dt.date, str]] = field(default_factory=dict)
    by_draw: set[int] = field(default_factory=set)  # confirmed by a draw's offer (not by a later request)
    refused_at_booking: int = 0
    requests: int = 0
    joins: int = 0
    join_seconds: float = 0.0
    decisions: int = 0
    decide_seconds: float = 0.0
    draw_seconds: float = 0.0
    join_cpu: float = 0.0
    decide_cpu: float = 0.0
    cpu_seconds: float = 0.0  # the whole rehearsal of this rule, population and judge in one process


def dates_of(scenario: Scenario) -> list[dt.date]:
    days: list[dt.date] = []
    day = FIRST_DATE
    while len(days) < scenario.days:
        if is_office_day(day):
            days.append(day)
        day += dt.timedelta(days=1)
    return days


def key(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:32]


class Release:
    """One release rule (FCFS or draw) met by the whole population, in simulated time."""

    def __init__(self, mode: str, users: list[User], bots: set[int], speed: float, folder: Path, seed: int) -> None:
        self.users, self.bots, self.speed = {u.serial: u for u in users}, bots, speed
        schedule = ReleaseSchedule()
        self.window = DrawWindow()
        desk = DrawDesk(self.window, seeds_from_key(hashlib.sha256(f"rehearsal {seed}".encode()).digest()), schedule)
        env = {"PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": str(folder / f"quota-{mode}.sqlite")}
        self.app = QuotaApplication(env=env, schedule=schedule, draws=desk if mode == "draw" else None)
        self.desk = desk
        self.outcome = Outcome(mode)
        self.rng = random.Random(seed)
        self.queue: list[tuple[float, int, int]] = [
            (u.arrival if u.serial not in bots else 0.0, u.serial, 0) for u in users
        ]
        heapq.heapify(self.queue)
        self.claims: dict[int, int] = {}  # NIK number -> the identity whose upcoming booking holds it
        self.waiting: dict[str, tuple[int, int, BookingRequested]] = {}
        self.closed = False

    def run(self) -> Outcome:
        began = time.process_time()
        while self.queue or self.waiting:
            start = self.queue[0][0] if self.queue else float("inf")
            if self.waiting and not self.closed and start >= self.window.after.total_seconds():
                self._close()
                continue
            batch = []
            while self.queue and self.queue[0][0] < start + SLICE:
                batch.append(heapq.heappop(self.queue))
            self._decide(start, batch)
        self.app.close()
        self.outcome.cpu_seconds = time.process_time() - began
        return self.outcome

    def _decide(self, at: float, batch: list[tuple[float, int, int]]) -> None:
        by_office: dict[str, list[tuple[int, int, BookingRequested]]] = {}
        for _, serial, choice in batch:
            request = self._request(serial, choice)
            if request is not None:
                by_office.setdefault(request.slot.office, []).append((serial, choice, request))
        for office, asked in by_office.items():
            now = self._release(office, asked[0][2].slot.date) + dt.timedelta(seconds=at)
            began, cpu = time.perf_counter(), time.process_time()
            self.app.apply_batch([r for _, _, r in asked], now)
            spent, used = time.perf_counter() - began, time.process_time() - cpu
            joined = [a for a in asked if self.app.waiting(a[2]) is not None]
            if joined:
                self.outcome.joins += len(asked)
                self.outcome.join_seconds += spent
                self.outcome.join_cpu += used
                self.waiting.update({str(r.booking_id): (s, c, r) for s, c, r in joined})
            else:
                self.outcome.decisions += len(asked)
                self.outcome.decide_seconds += spent
                self.outcome.decide_cpu += used
            for serial, choice, request in asked:
                if str(request.booking_id) not in self.waiting:
                    self._settle(serial, choice, request, at, tried=1)

    def _close(self) -> None:
        """The window is over: each office's draw is made by the clock; everyone waiting learns their outcome."""
        self.closed = True
        after = self.window.after.total_seconds()
        began = time.perf_counter()
        for office, day in sorted({(r.slot.office, r.slot.date) for _, _, r in self.waiting.values()}):
            self.app.tick(self._release(office, day) + self.window.after, [office])
        self.outcome.draw_seconds = time.perf_counter() - began
        waiting, self.waiting = self.waiting, {}
        for serial, choice, request in waiting.values():  # a draw tried its fallbacks too
            self._settle(serial, choice, request, after, tried=1 + len(request.fallbacks))

    def _request(self, serial: int, choice: int) -> BookingRequested | None:
        user = self.users[serial]
        if any(self.claims.get(n, serial) != serial for n in user.nik_numbers()):
            self.outcome.refused_at_booking += 1  # nik_already_booked: the booking service refuses it
            return None
        for n in user.nik_numbers():
            self.claims[n] = serial
        office, day, session = user.choices[choice]
        fallbacks = [s for (o, d, s) in user.choices[choice + 1 : choice + 2] if (o, d) == (office, day)]
        self.outcome.requests += 1
        return BookingRequested(
            booking_id=uuid.UUID(int=self.rng.getrandbits(128)),
            slot=Slot(office=office, date=day, session=session),
            applicants=user.applicants,
            fallbacks=fallbacks,
            draw_keys=[key(f"account:{serial}"), *(key(f"nik:{n}") for n in user.nik_numbers())],
        )

    def _settle(self, serial: int, choice: int, request: BookingRequested, at: float, tried: int) -> None:
        slot, office = request.slot, office_by_code(request.slot.office)
        sessions = (self.app.quota(office, slot.date, s) for s in SESSIONS)
        session = next((q for q in sessions if q is not None and q.queue_number(str(request.booking_id))), None)
        if session is not None:
            self.outcome.confirmed[serial] = (session.office, session.day, session.session)
            if at == self.window.after.total_seconds() and self.closed:
                self.outcome.by_draw.add(serial)
            return
        user = self.users[serial]
        for n in user.nik_numbers():
            self.claims.pop(n, None)
        following = choice + tried
        if following < len(user.choices):
            gap = self.rng.uniform(*THINK) / (self.speed if serial in self.bots else 1)
            heapq.heappush(self.queue, (at + gap, serial, following))

    def _release(self, office: str, day: dt.date) -> dt.datetime:
        released = self.desk.release_of(office, day)
        if released is None:
            raise ValueError(f"{day} is not an office day at {office}")
        return released


def rehearse(scenario: Scenario, bots: Bots, folder: Path | None = None) -> dict[str, Any]:
    """The same population against FCFS and against the draw; the bots' share of what each confirmed."""
    scenario = dataclasses.replace(scenario, double_tap=0.0)  # a double tap is one booking: no bearing here
    dates = dates_of(scenario)
    users = population(scenario, dates)
    rng = random.Random(scenario.seed + 1)
    chosen = set(rng.sample([u.serial for u in users], round(len(users) * bots.share)))
    with tempfile.TemporaryDirectory(prefix="paspor-fairness-", dir=folder) as tmp:
        outcomes = [
            Release(mode, users, chosen, bots.speed, Path(tmp), scenario.seed).run() for mode in ("fcfs", "draw")
        ]
    share = len(chosen) / len(users)
    report: dict[str, Any] = {
        "identities": len(users),
        "bots": len(chosen),
        "bot_identity_share": round(share, 4),
        "bot_speed": bots.speed,
        "dates": [d.isoformat() for d in dates],
    }
    for outcome in outcomes:
        won = sum(1 for serial in outcome.confirmed if serial in chosen)
        confirmed = len(outcome.confirmed)
        report[outcome.mode] = {
            "confirmed": confirmed,
            "bots_confirmed": won,
            "confirmed_by_draw_offers": len(outcome.by_draw),
            "bots_confirmed_by_draw_offers": sum(1 for serial in outcome.by_draw if serial in chosen),
            "bot_share_of_confirmed": round(won / confirmed, 4) if confirmed else 0.0,
            "times_identity_share": round(won / confirmed / share, 2) if confirmed else 0.0,
            "requests": outcome.requests,
            "refused_at_booking": outcome.refused_at_booking,
            "decided_per_second": round(outcome.decisions / outcome.decide_seconds) if outcome.decide_seconds else None,
            "joins_per_second": round(outcome.joins / outcome.join_seconds) if outcome.join_seconds else None,
            "cpu_us_per_decision": round(outcome.decide_cpu / outcome.decisions * 1e6) if outcome.decisions else None,
            "cpu_us_per_join": round(outcome.join_cpu / outcome.joins * 1e6) if outcome.joins else None,
            "draw_seconds": round(outcome.draw_seconds, 3),
            "cpu_seconds": round(outcome.cpu_seconds, 2),
        }
    joins, decided = report["draw"]["joins_per_second"], report["fcfs"]["decided_per_second"]
    report["joins_vs_decisions"] = round(joins / decided, 2) if joins and decided else None
    join_cpu, decide_cpu = report["draw"]["cpu_us_per_join"], report["fcfs"]["cpu_us_per_decision"]
    report["cpu_per_join_vs_decision"] = round(join_cpu / decide_cpu, 2) if join_cpu and decide_cpu else None
    return report
