"""A high-season release of quota, as data: which offices and days open, who comes, and how they behave.

The population is drawn from a seed, so the same scenario can be replayed against two systems in one run.
Preferences follow what the rush looks like: a few big-city offices and the earliest dates are wanted by
most; each user has a preferred session; when refused, they fall back to the nearest other office or to
a later date, a few times, then give up.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field

from shared.calendar import is_office_day
from shared.offices import Office, nearest_offices, office_by_code

# Big-city offices, busiest first (Jakarta, Surabaya, Bandung, Medan, Semarang, Denpasar, Makassar, ...).
POPULAR = (
    "JKT-SEL",
    "SBY-TPI",
    "BANDUNG",
    "MDN-TPI",
    "SEMARANG",
    "DENPASAR",
    "MAKASSAR",
    "YOGYAKARTA",
    "MALANG",
    "GRESIK",
    "TG-PERAK",
    "JKT-UTARA",
    "JKT-BARAT",
    "JKT-TIMUR",
    "JKT-PUSAT",
    "BOGOR",
    "BEKASI",
    "DEPOK",
)
Slot = tuple[str, dt.date, str]


@dataclass(frozen=True)
class Scenario:
    """The knobs of a rush; every figure a default a release manager may change."""

    users: int = 5000
    offices: int = 8
    days: int = 3
    first_day_in: int = 7  # the first released date is this many days ahead (inside the release window)
    burst_seconds: float = 5.0  # arrivals are spread over this many seconds after the release
    fallbacks: int = 3  # other choices a refused user tries before giving up
    double_tap: float = 0.05  # share of users who send their booking twice at once
    cancel: float = 0.03  # share of confirmed users who cancel soon after
    morning: float = 0.65  # share who prefer the morning session
    seed: int = 2026

    def office_codes(self) -> list[str]:
        codes = [code for code in POPULAR if _known(code)]
        return codes[: self.offices]

    def dates(self) -> list[dt.date]:
        days: list[dt.date]
        days, day = [], dt.date.today() + dt.timedelta(days=self.first_day_in)
        while len(days) < self.days:
            if is_office_day(day):
                days.append(day)
            day += dt.timedelta(days=1)
        return days

    def sessions(self) -> list[Slot]:
        return [(o, d, s) for o in self.office_codes() for d in self.dates() for s in ("pagi", "siang")]

    def as_dict(self) -> dict[str, object]:
        return {**self.__dict__, "office_codes": self.office_codes(), "dates": [d.isoformat() for d in self.dates()]}


@dataclass
class User:
    """One citizen in the rush: when they arrive, what they want, how they behave."""

    serial: int
    arrival: float  # seconds after the release
    choices: list[Slot]
    double_tap: bool
    cancels: bool
    applicants: int = 1
    outcomes: list[str] = field(default_factory=list)


def population(scenario: Scenario) -> list[User]:
    """The same users, in the same order, for the same seed."""
    rng = random.Random(scenario.seed)
    offices, dates = scenario.office_codes(), scenario.dates()
    office_weights = [1 / (rank + 1) for rank in range(len(offices))]  # Zipf: the first office is the busiest
    date_weights = [1 / (rank + 1) ** 0.7 for rank in range(len(dates))]
    users = []
    for serial in range(scenario.users):
        office = rng.choices(offices, office_weights)[0]
        day = rng.choices(dates, date_weights)[0]
        session = "pagi" if rng.random() < scenario.morning else "siang"
        choices = [(office, day, session)] + fallbacks(rng, (office, day, session), offices, dates, scenario.fallbacks)
        users.append(
            User(
                serial,
                arrival=rng.betavariate(1.2, 4) * scenario.burst_seconds,
                choices=choices,
                double_tap=rng.random() < scenario.double_tap,
                cancels=rng.random() < scenario.cancel,
                applicants=rng.choices((1, 2, 3, 4), (60, 25, 10, 5))[0],
            )
        )
    users.sort(key=lambda u: u.arrival)
    return users


def fallbacks(rng: random.Random, first: Slot, offices: list[str], dates: list[dt.date], count: int) -> list[Slot]:
    """The other session that day, then the nearest released office, then later dates; no repeats."""
    office, day, session = first
    other = "siang" if session == "pagi" else "pagi"
    near = [
        o.code
        for o, _ in nearest_offices(*_position(office), limit=len(POPULAR) + 40)
        if o.code in offices and o.code != office
    ]
    later = [d for d in dates if d > day] or [d for d in dates if d != day]
    options = [(office, day, other)]
    if near:
        options.append((near[0], day, session))
    options += [(office, d, session) for d in later]
    if rng.random() < 0.5:  # half of them would rather change the date than the office
        options[1:] = sorted(options[1:], key=lambda slot: slot[0] != office)
    return list(dict.fromkeys(options))[:count]


def _position(code: str) -> tuple[float, float]:
    office: Office = office_by_code(code)
    return office.latitude, office.longitude


def _known(code: str) -> bool:
    try:
        office_by_code(code)
    except LookupError:
        return False
    return True
