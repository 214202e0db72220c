"""The rules a rush must not bend, checked after it on both systems alike.

From the client's answers: no session overbooked, no queue number twice in a session, one upcoming
booking per NIK and per account, double taps answered alike, every attempt one final outcome. From the
system itself: what it says each session holds (its calendar, or the baseline's table) must equal the
confirmed bookings the citizens were told of, so that no booking exists that nobody heard about.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass

from .driver import RushRun
from .outcome import CONFIRMED, FAILED, Answer
from .release import Release
from .scenario import Slot, User


@dataclass(frozen=True)
class Verdict:
    ok: bool
    detail: str

    def as_dict(self) -> dict[str, object]:
        return {"ok": self.ok, "detail": self.detail}


NAMES = {
    "no_session_overbooked": "no session overbooked",
    "queue_numbers_unique": "no queue number twice in a session",
    "one_upcoming_per_nik": "one upcoming booking per NIK",
    "one_upcoming_per_account": "one upcoming booking per account",
    "double_taps_alike": "double taps answered alike",
    "one_final_outcome": "every attempt got exactly one final outcome",
    "system_agrees": "the system holds what the citizens were told",
}


def check(run: RushRun, users: dict[int, User], release: Release, held: dict[Slot, int] | None) -> dict[str, Verdict]:
    """Every invariant, with a line saying what was found; `held`: what the system says each session holds."""
    upcoming = upcoming_bookings(run, users)
    verdicts = {
        "no_session_overbooked": _overbooked(upcoming, release),
        "queue_numbers_unique": _queue_numbers(upcoming),
        "one_upcoming_per_nik": _per_nik(upcoming, users),
        "one_upcoming_per_account": _per_account(upcoming),
        "double_taps_alike": _double_taps(run),
        "one_final_outcome": _final(run),
        "system_agrees": _agrees(upcoming, release, held),
    }
    return verdicts


def told_per_session(run: RushRun, users: dict[int, User]) -> dict[Slot, int]:
    """How many upcoming bookings the citizens were told they hold, per session."""
    return dict(Counter(h.slot for h in upcoming_bookings(run, users)))


@dataclass(frozen=True)
class Held:
    """A confirmed booking not cancelled afterwards, as its owner was told."""

    user: int
    slot: Slot
    booking_id: str
    queue_number: int | None


def upcoming_bookings(run: RushRun, users: dict[int, User]) -> list[Held]:
    cancelled, found = set(run.cancelled), dict[str, Held]()
    for attempt in run.attempts:
        for answer in (attempt.answer, attempt.second):
            if answer is None or answer.status != CONFIRMED:
                continue
            booking_id = answer.booking_id
            if booking_id is None:
                raise ValueError(f"user {attempt.user}'s choice {attempt.choice} was confirmed without a booking id")
            if booking_id not in cancelled:
                slot = users[attempt.user].choices[attempt.choice]
                found.setdefault(booking_id, Held(attempt.user, slot, booking_id, answer.queue_number))
    return list(found.values())


def _overbooked(upcoming: list[Held], release: Release) -> Verdict:
    per_slot = Counter(h.slot for h in upcoming)
    over = {s: n for s, n in per_slot.items() if n + release.booked_before.get(s, 0) > release.capacity.get(s, 0)}
    fullest = max((n + release.booked_before.get(s, 0) for s, n in per_slot.items()), default=0)
    detail = f"fullest session {fullest}/{max(release.capacity.values(), default=0)}"
    if over:
        detail += f"; over capacity: {_slots(over)}"
    return Verdict(not over, detail)


def _queue_numbers(upcoming: list[Held]) -> Verdict:
    numbers = Counter((h.slot, h.queue_number) for h in upcoming)
    twice = {k: n for k, n in numbers.items() if n > 1}
    missing = sum(1 for h in upcoming if h.queue_number is None)
    ok = not twice and not missing
    detail = f"{len(upcoming):,} numbers in {len({h.slot for h in upcoming})} sessions"
    if twice:
        detail += f"; given twice: {len(twice)}"
    if missing:
        detail += f"; confirmed without a number: {missing}"
    return Verdict(ok, detail)


def _per_nik(upcoming: list[Held], users: dict[int, User]) -> Verdict:
    holders: dict[int, set[str]] = defaultdict(set)
    for held in upcoming:
        for nik in users[held.user].nik_numbers():
            holders[nik].add(held.booking_id)
    twice = sum(1 for bookings in holders.values() if len(bookings) > 1)
    brokers = sum(1 for h in upcoming if users[h.user].broker)
    detail = f"{len(holders):,} NIKs booked; brokers confirmed {brokers}"
    return Verdict(not twice, detail + (f"; NIKs in two upcoming bookings: {twice}" if twice else ""))


def _per_account(upcoming: list[Held]) -> Verdict:
    per_user = Counter(h.user for h in upcoming)
    twice = sum(1 for n in per_user.values() if n > 1)
    return Verdict(not twice, f"{len(per_user):,} accounts booked" + (f"; with two: {twice}" if twice else ""))


def _double_taps(run: RushRun) -> Verdict:
    taps = [a for a in run.attempts if a.double_tap]
    differing = [a for a in taps if not a.taps_agree]
    detail = f"{len(taps):,} double taps, {len(differing)} answered differently"
    if differing:
        detail += f" (e.g. {_pair(differing[0].answer)} vs {_pair(differing[0].second)})"
    return Verdict(not differing, detail)


def _final(run: RushRun) -> Verdict:
    answers = [x for a in run.attempts for x in (a.answer, a.second) if x is not None]
    failed = Counter(x.reason for x in answers if x.status == FAILED)
    detail = f"{len(run.attempts):,} attempts, {sum(failed.values())} without a final outcome"
    if failed:
        detail += f" ({', '.join(f'{k}: {n}' for k, n in failed.most_common())})"
    return Verdict(not failed, detail)


def _agrees(upcoming: list[Held], release: Release, held: dict[Slot, int] | None) -> Verdict:
    if held is None:
        return Verdict(True, "not checked (the system's holdings unknown)")
    told = Counter(h.slot for h in upcoming)
    differ = {
        s: (held.get(s, 0) - release.booked_before.get(s, 0), told.get(s, 0))
        for s in release.capacity
        if held.get(s, 0) - release.booked_before.get(s, 0) != told.get(s, 0)
    }
    total = sum(held.get(s, 0) - release.booked_before.get(s, 0) for s in release.capacity)
    detail = f"system holds {total:,}, citizens were told {sum(told.values()):,}"
    if differ:
        detail += f"; differing sessions: {_slots(differ)}"
    return Verdict(not differ, detail)


def _pair(answer: Answer | None) -> str:
    if answer is None:
        return "-"
    return f"{answer.status} {answer.reason or ''} #{answer.queue_number}".strip()


def _slots(found: dict) -> str:
    shown = [f"{o} {d} {s}: {v}" for (o, d, s), v in list(found.items())[:5]]
    return ", ".join(shown) + (" …" if len(found) > 5 else "")
