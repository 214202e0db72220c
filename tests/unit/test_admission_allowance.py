"""Booking budgets shared by the gateway fleet: leases from one counter, spent locally, on a pinned clock.

The counter here is a fake of the key-value bucket with the same compare-and-set rule (an update names
the revision it read, and fails if another replica wrote since), so the leasing logic runs as on NATS.
"""

from __future__ import annotations

import asyncio

import nats.errors
import pytest
from nats.js.errors import KeyNotFoundError, KeyWrongLastSequenceError
from support import NOW

from services.gateway.admission import Admission, SharedCounter, counter_key
from services.gateway.allowance import Allowance, Budget, LocalCounter
from services.gateway.metrics import Metrics


class Ticks:
    """A pinned clock in Unix seconds, moved by hand; starts 10 s into a minute-long window."""

    def __init__(self) -> None:
        self.at = (NOW.timestamp() // 60) * 60 + 10

    def __call__(self) -> float:
        return self.at


class Entry:
    def __init__(self, value: bytes, revision: int) -> None:
        self.value, self.revision = value, revision


class FakeBucket:
    """The KV operations the counter uses, with NATS's rules: create only if absent, update only at the last revision."""

    def __init__(self) -> None:
        self.entries: dict[str, Entry] = {}
        self.revision, self.calls, self.down = 0, 0, False
        self.answering = asyncio.Event()
        self.answering.set()

    def _write(self, key: str, value: bytes) -> int:
        self.revision += 1
        self.entries[key] = Entry(value, self.revision)
        return self.revision

    async def create(self, key: str, value: bytes) -> int:
        await self._answer()
        if key in self.entries:
            raise KeyWrongLastSequenceError
        return self._write(key, value)

    async def update(self, key: str, value: bytes, last: int) -> int:
        await self._answer()
        if key not in self.entries or self.entries[key].revision != last:
            raise KeyWrongLastSequenceError
        return self._write(key, value)

    async def get(self, key: str) -> Entry:
        await self._answer()
        if key not in self.entries:
            raise KeyNotFoundError
        return self.entries[key]

    async def _answer(self) -> None:
        self.calls += 1
        await asyncio.sleep(0)  # a round trip: other requests run meanwhile
        await self.answering.wait()
        if self.down:
            raise nats.errors.NoServersError


def replica(bucket: FakeBucket | None, clock: Ticks, account: int = 6, lease: int = 20) -> Admission:
    admission = Admission([Budget("account", account, 60, lease), Budget("address", 1000, 60, lease)], Metrics(), clock)
    if bucket is not None:
        admission.counting_in(SharedCounter(bucket))  # type: ignore[arg-type]  # the fake bucket
    return admission


async def admitted(admissions: list[Admission], attempts: int, account: str = "google:siti") -> int:
    """Attempts alternating between the replicas; how many were let in."""
    answers = [await admissions[i % len(admissions)].admit(account, "10.1.2.3") for i in range(attempts)]
    return sum(answer is None for answer in answers)


def test_a_lease_takes_a_tenth_of_the_budget_at_most_and_never_more_than_is_left():
    assert Budget("account", 30, 60, lease=20).lease_size(0) == 3
    assert Budget("address", 3000, 60, lease=20).lease_size(0) == 20
    assert Budget("address", 3000, 60, lease=20).lease_size(2990) == 10
    assert Budget("account", 6, 60, lease=20).lease_size(5) == 1, "a small budget leases one at a time"
    assert Budget("account", 6, 60, lease=20).lease_size(6) == 0


def test_a_spent_budget_is_refused_until_the_next_window_then_whole_again():
    clock = Ticks()
    counter = LocalCounter(60, clock)
    allowance = Allowance(Budget("account", 4, 60, lease=2), clock)
    spent = []
    for _ in range(6):
        verdict = allowance.take("siti")
        if verdict is None:  # ask the counter for a lease, then spend from it
            window = allowance.window()
            allowance.granted("siti", window, *counter.add("siti", window, allowance.budget.lease_size), 0)
            verdict = allowance.take("siti")
        spent.append(verdict)
    assert spent == [True, True, True, True, False, False]
    assert allowance.retry_after() == 50, "the window ends 50 s later"
    clock.at += 50
    assert allowance.take("siti") is None, "a new window: lease again"
    assert counter.add("siti", allowance.window(), allowance.budget.lease_size) == (1, 1)


async def test_two_replicas_admit_the_budget_once_between_them():
    clock, bucket = Ticks(), FakeBucket()
    assert await admitted([replica(bucket, clock), replica(bucket, clock)], 12) == 6
    alone = [replica(None, clock), replica(None, clock)]  # each replica on its own budget, as before
    assert await admitted(alone, 12) == 12


async def test_a_refusal_says_when_the_budget_is_whole_again_and_costs_no_round_trip():
    clock, bucket = Ticks(), FakeBucket()
    a = replica(bucket, clock)
    assert await admitted([a], 6) == 6
    calls = bucket.calls
    refusal = await a.admit("google:siti", "10.1.2.3")
    assert refusal is not None and refusal.status == 429 and refusal.code == "rate_limited"
    assert refusal.extra["retry_after_seconds"] == 50
    assert await a.admit("google:siti", "10.1.2.3") is not None
    assert bucket.calls == calls, "the last lease showed the budget spent: refused from memory"
    assert await a.admit("google:budi", "10.1.2.3") is None, "another account has its own budget"


async def test_most_attempts_are_admitted_from_the_lease_without_asking_the_bucket():
    clock, bucket = Ticks(), FakeBucket()
    a = replica(bucket, clock, account=10_000, lease=50)
    assert await admitted([a], 500) == 500
    assert bucket.calls == 2 * 500 / 50, "one create or update per lease of 50, for the account and the address"
    assert int(bucket.entries[counter_key("account", "google:siti", int(clock() // 60))].value) == 500


async def test_a_lease_raced_by_another_replica_reads_the_counter_and_takes_what_is_left():
    clock, bucket = Ticks(), FakeBucket()
    key = counter_key("account", "google:siti", int(clock() // 60))
    bucket._write(key, b"5")  # another replica leased five of the six already
    a = replica(bucket, clock)
    assert await admitted([a], 3) == 1


async def test_concurrent_attempts_of_one_account_share_one_lease():
    clock, bucket = Ticks(), FakeBucket()
    a = replica(bucket, clock, account=100, lease=10)
    answers = await asyncio.gather(*(a.admit("google:siti", "10.1.2.3") for _ in range(10)))
    await asyncio.gather(*a.ahead)
    assert answers == [None] * 10
    assert bucket.calls <= 4, "one lease for all ten, of the account and of the address (and each one's next, ahead)"


async def test_while_the_bucket_is_down_each_replica_keeps_its_own_budget_and_says_so():
    clock, bucket = Ticks(), FakeBucket()
    a, b = replica(bucket, clock), replica(bucket, clock)
    bucket.down = True
    assert await admitted([a, b], 16) == 12, "six per replica: the local budgets, not a 5xx"
    assert bucket.calls == 2, "one failed lease per replica: no other attempt waited for the bucket"
    assert a.metrics.admission_fallbacks._value.get() > 0
    assert a.metrics.admission_shared._value.get() == 0
    assert a.lost.is_set(), "the background task is told to look at the bucket again"
    bucket.down = False
    a.counting_in(SharedCounter(bucket))  # type: ignore[arg-type]  # it did, and the bucket answered
    assert await a.admit("google:budi", "10.1.2.3") is None
    assert a.metrics.admission_shared._value.get() == 1, "back on the shared counter"
    assert a.failing_since is None
    assert counter_key("account", "google:budi", int(clock() // 60)) in bucket.entries


async def test_a_damaged_counter_is_not_trusted_and_the_replica_counts_on_its_own():
    clock, bucket = Ticks(), FakeBucket()
    bucket._write(counter_key("account", "google:siti", int(clock() // 60)), b"not a number")
    a = replica(bucket, clock)
    assert await admitted([a], 8) == 6
    assert a.metrics.admission_fallbacks._value.get() > 0


@pytest.mark.parametrize("kind", ["account", "address"])
def test_the_bucket_never_holds_an_account_or_an_address_in_clear(kind: str):
    key = counter_key(kind, "google:siti@example.com" if kind == "account" else "203.0.113.9", 29_000_000)
    prefix, hashed, window = key.split(".")
    assert (prefix, window) == (kind, "29000000")
    assert len(hashed) == 32 and all(c in "0123456789abcdef" for c in hashed)


async def test_a_burst_on_one_busy_key_is_admitted_in_a_round_trip_or_two_and_never_past_its_budget():
    clock, bucket = Ticks(), FakeBucket()
    a = replica(bucket, clock, account=1_000_000, lease=3)
    answers = await asyncio.gather(*(a.admit(f"google:citizen-{n}", "10.9.9.9") for n in range(40)))
    assert answers == [None] * 40, "a lease of 3 does not refuse the other 37 waiting on the address"
    address = counter_key("address", "10.9.9.9", int(clock() // 60))
    assert 40 <= int(bucket.entries[address].value) <= 80, "one for each attempt waiting (and perhaps a lease ahead)"
    b = replica(bucket, clock, account=10, lease=3)
    answers = await asyncio.gather(*(b.admit("google:bot", "10.9.9.8") for _ in range(40)))
    assert answers.count(None) == 10, "however many wait at once, the budget holds"


async def test_a_busy_keys_next_lease_is_taken_before_its_attempts_would_wait_for_it():
    clock, bucket = Ticks(), FakeBucket()
    a = Admission([Budget("address", 1_000_000, 60, lease=3)], Metrics(), clock, timeout=30)
    a.counting_in(SharedCounter(bucket))  # type: ignore[arg-type]  # the fake bucket
    first = await asyncio.gather(*(a.admit(f"google:citizen-{n}", "10.9.9.9") for n in range(40)))
    await asyncio.sleep(0.01)  # the lease ahead, taken in the background
    bucket.answering.clear()  # from now on the bucket answers nothing
    second = asyncio.gather(*(a.admit(f"google:citizen-{n}", "10.9.9.9") for n in range(20)))
    assert await asyncio.wait_for(second, 5) == [None] * 20, "admitted from memory: nobody waited for the bucket"
    assert first == [None] * 40
    bucket.answering.set()
    await asyncio.gather(*a.ahead)
    counted = int(bucket.entries[counter_key("address", "10.9.9.9", int(clock() // 60))].value)
    assert counted - 60 == a.allowances["address"].held["10.9.9.9"].left, "every attempt leased is spent or held"


async def test_a_keys_lease_and_count_are_forgotten_a_window_after_they_were_taken_while_a_busy_key_stays():
    clock = Ticks()
    a = replica(None, clock)  # counting on its own: the leases and the local counts both
    assert await a.admit("google:siti", "10.1.1.1") is None
    clock.at += 55  # the next window: siti's lease is useless now, though not yet a window old
    assert await a.admit("google:budi", "10.2.2.2") is None
    clock.at += 5
    accounts = a.allowances["account"]
    assert "google:siti" not in accounts.held and "account:google:siti" not in a.local.counts
    assert "google:budi" in accounts.held and "account:google:budi" in a.local.counts
    assert len(accounts.held) == 1 and len(a.local.counts) == 2, "budi's account and address, nothing older"
