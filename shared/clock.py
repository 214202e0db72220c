"""The one source of "now": every rule, message and service asks a clock, never the wall clock.

A process has one current clock (`now()`), the wall clock unless something chose another: a service
starts its clock from `PASPOR_CLOCK_START` when set (a rehearsal or a test of the whole system on a
pinned day), and tests pin theirs. Code that can take its clock as a parameter does; `now` is the
default it falls back to.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable

Clock = Callable[[], dt.datetime]
UTC = dt.UTC


def wall_clock() -> dt.datetime:
    """The real time, in UTC."""
    return dt.datetime.now(UTC)


def _aware(at: dt.datetime) -> dt.datetime:
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"a clock needs a time with its UTC offset, got {at.isoformat()}")
    return at.astimezone(UTC)


class FixedClock:
    """Stands still at one instant until told to move (stories that step through days)."""

    def __init__(self, at: dt.datetime) -> None:
        self.at = _aware(at)

    def __call__(self) -> dt.datetime:
        return self.at

    def advance(self, by: dt.timedelta) -> dt.datetime:
        self.at += by
        return self.at


class StartedClock:
    """Runs at the wall clock's pace from a chosen start: a whole system living on a pinned day.

    `since` (Unix seconds) is when the clock read `start`; processes given the same pair agree on
    the time however much later each of them starts. Without it, the clock starts now.
    """

    def __init__(self, start: dt.datetime, since: float | None = None, ticks: Callable[[], float] = time.time) -> None:
        self.start, self.ticks = _aware(start), ticks
        self.origin = ticks() if since is None else since

    def __call__(self) -> dt.datetime:
        return self.start + dt.timedelta(seconds=self.ticks() - self.origin)


def clock_from(start: dt.datetime | None, since: float | None = None) -> Clock:
    """The wall clock, or a clock that read `start` at `since` (or now) and runs from there."""
    return wall_clock if start is None else StartedClock(start, since)


_current: Clock = wall_clock


def now() -> dt.datetime:
    """What time it is for this process, in UTC, by its current clock."""
    return _current()


def use(clock: Clock) -> Clock:
    """Make `clock` this process's clock (a service at start-up, a test pinning its day); returns the old one."""
    global _current
    previous, _current = _current, clock
    return previous
