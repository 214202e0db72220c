"""A high-season release of quota, as data: which offices and dates open, who comes, and how they behave.

The population is drawn from a seed, so the same scenario can be replayed against two systems in one
run (and split over several client processes, each drawing the same people). Preferences follow what
a rush looks like: a few big-city offices are wanted by most; each citizen has a preferred session;
when refused because it is full, they try the other session, then the nearest office, then later dates.
Some tap "book" twice at once, and a few brokers book with another citizen's NIK on their own account.

The dates are not computed here (nor from any clock): `release.py` asks the running system's calendar.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import asdict, dataclass

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
SESSIONS = ("pagi", "siang")
Slot = tuple[str, dt.date, str]


class InvalidScenario(ValueError):
    """A scenario knob out of its range."""


@dataclass(frozen=True)
class Scenario:
    """The knobs of a rush; every figure a default a release manager may change."""

    citizens: int = 20_000
    offices: int = 8
    days: int = 1
    burst_seconds: float = 10.0  # arrivals are spread over this many seconds after the release
    fallbacks: int = 2  # other choices a citizen refused as sold out tries: the other session, the nearest office
    double_tap: float = 0.05  # share who send their booking twice at once (same idempotency key)
    brokers: float = 0.03  # brokers, as a share of the citizens: own account, another citizen's NIK
    cancel: float = 0.0  # share of confirmed citizens who cancel soon after
    morning: float = 0.65  # share who prefer the morning session
    seed: int = 2026

    def __post_init__(self) -> None:
        checks = {
            "citizens must be at least 1": self.citizens >= 1,
            f"offices must be 1 to {len(known_popular())}": 1 <= self.offices <= len(known_popular()),
            "days must be 1 to 30": 1 <= self.days <= 30,
            "burst_seconds must be 0 to 3600": 0 <= self.burst_seconds <= 3600,
            "fallbacks must be 0 to 10": 0 <= self.fallbacks <= 10,
        }
        for name in ("double_tap", "brokers", "cancel", "morning"):
            checks[f"{name} must be a share from 0 to 1"] = 0 <= getattr(self, name) <= 1
        wrong = [message for message, ok in checks.items() if not ok]
        if wrong:
            raise InvalidScenario("; ".join(wrong))

    @property
    def broker_count(self) -> int:
        return min(round(self.citizens * self.brokers), self.citizens)

    @property
    def accounts(self) -> int:
        """Citizens and brokers: one account, one device each."""
        return self.citizens + self.broker_count

    def office_codes(self) -> list[str]:
        return known_popular()[: self.offices]

    def sessions(self, dates: list[dt.date]) -> list[Slot]:
        return [(o, d, s) for o in self.office_codes() for d in dates for s in SESSIONS]

    def as_dict(self) -> dict[str, object]:
        return asdict(self) | {"office_codes": self.office_codes(), "brokers_count": self.broker_count}


@dataclass
class User:
    """One account in the rush: when it arrives, what it wants, how it behaves, whose NIKs it books."""

    serial: int
    arrival: float  # seconds after the release
    choices: list[Slot]
    double_tap: bool
    cancels: bool
    applicants: int = 1
    borrows: int | None = None  # a broker: books with the first NIK of this citizen

    @property
    def broker(self) -> bool:
        return self.borrows is not None

    def nik_numbers(self) -> list[int]:
        """Which identity numbers it books with (see `Identities.nik`): its own, or the borrowed one."""
        if self.borrows is not None:
            return [self.borrows * 5]
        return [self.serial * 5 + i for i in range(self.applicants)]


def population(scenario: Scenario, dates: list[dt.date]) -> list[User]:
    """The same accounts, in the same order of arrival, for the same seed and dates."""
    if len(dates) != scenario.days:
        raise InvalidScenario(f"the scenario releases {scenario.days} date(s), {len(dates)} given")
    rng = random.Random(scenario.seed)
    offices, dates = scenario.office_codes(), sorted(dates)
    office_weights = [1 / (rank + 1) for rank in range(len(offices))]  # Zipf: the first office is the busiest
    date_weights = [1 / (rank + 1) ** 0.7 for rank in range(len(dates))]
    near = {code: nearest_released(code, offices) for code in offices}
    users = []
    for serial in range(scenario.citizens):
        first = (
            rng.choices(offices, office_weights)[0],
            rng.choices(dates, date_weights)[0],
            "pagi" if rng.random() < scenario.morning else "siang",
        )
        users.append(
            User(
                serial,
                arrival=_arrival(rng, scenario),
                choices=[first, *fallbacks(first, near[first[0]], dates, scenario.fallbacks)],
                double_tap=rng.random() < scenario.double_tap,
                cancels=rng.random() < scenario.cancel,
                applicants=rng.choices((1, 2, 3, 4), (60, 25, 10, 5))[0],
            )
        )
    victims = rng.sample(range(scenario.citizens), scenario.broker_count)
    for offset, victim in enumerate(victims):
        wanted = users[victim].choices  # a broker goes for what the citizen wanted, with the citizen's NIK
        users.append(
            User(
                scenario.citizens + offset,
                arrival=_arrival(rng, scenario),
                choices=list(wanted),
                double_tap=rng.random() < scenario.double_tap,
                cancels=False,
                borrows=victim,
            )
        )
    users.sort(key=lambda u: (u.arrival, u.serial))
    return users


def _arrival(rng: random.Random, scenario: Scenario) -> float:
    """Most come in the first seconds after the release, the rest trickle in until the burst's end."""
    return rng.betavariate(1.2, 4) * scenario.burst_seconds


def fallbacks(first: Slot, near: list[str], dates: list[dt.date], count: int) -> list[Slot]:
    """Refused as sold out: the other session, then the nearest released office(s), then later dates."""
    office, day, session = first
    other = "siang" if session == "pagi" else "pagi"
    options = [(office, day, other)]
    for code in near:
        options += [(code, day, session), (code, day, other)]
    options += [(office, d, s) for d in dates if d > day for s in (session, other)]
    return list(dict.fromkeys(options))[:count]


def known_popular() -> list[str]:
    """The popular offices that the offices file knows, busiest first."""
    known = []
    for code in POPULAR:
        try:
            known.append(office_by_code(code).code)
        except LookupError:
            continue
    return known


def nearest_released(code: str, offices: list[str]) -> list[str]:
    """The other released offices, nearest first."""
    office: Office = office_by_code(code)
    found = nearest_offices(office.latitude, office.longitude, limit=1000)
    return [o.code for o, _ in found if o.code in offices and o.code != code]
