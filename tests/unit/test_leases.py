"""Partition leases, step by step on a pinned clock: taken by one, waited for by the other, lost when not renewed.

`Bucket` plays the NATS key-value bucket with a TTL: the same compare-and-set on revisions as nats-py's
`KeyValue` (create only when absent, update only on the last revision), and entries that vanish `ttl`
seconds after they were written, by the same clock the keepers read.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
from dataclasses import dataclass

import pytest
from nats.errors import TimeoutError as NatsTimeout
from nats.js.errors import KeyNotFoundError, KeyWrongLastSequenceError
from pydantic import ValidationError

from services.quota.main import QuotaSettings
from services.quota.metrics import QuotaMetrics
from shared.runtime.lease import Lease, LeaseKeeper, LeaseTerms, dead_on_this_host, hold_forever

TERMS = LeaseTerms(ttl=10.0, renew_every=3.0)
KEY = "quota-p03of8"


class Clock:
    """Seconds, moved by the test only."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class Entry:
    value: bytes
    revision: int
    written: float


class Bucket:
    """A key-value bucket whose entries expire `ttl` seconds after they were written."""

    def __init__(self, clock: Clock, ttl: float = TERMS.ttl) -> None:
        self.clock, self.ttl, self.revision = clock, ttl, 0
        self.entries: dict[str, Entry] = {}
        self.down = False

    def _live(self, key: str) -> Entry | None:
        entry = self.entries.get(key)
        if entry is not None and self.clock() >= entry.written + self.ttl:
            del self.entries[key]  # aged out (max_age)
            return None
        return entry

    def _write(self, key: str, value: bytes) -> int:
        if self.down:
            raise NatsTimeout
        self.revision += 1
        self.entries[key] = Entry(value, self.revision, self.clock())
        return self.revision

    async def create(self, key: str, value: bytes) -> int:
        if self._live(key) is not None:
            raise KeyWrongLastSequenceError
        return self._write(key, value)

    async def update(self, key: str, value: bytes, last: int) -> int:
        entry = self._live(key)
        if (entry.revision if entry else 0) != last:
            raise KeyWrongLastSequenceError
        return self._write(key, value)

    async def get(self, key: str) -> Entry:
        entry = self._live(key)
        if entry is None:
            raise KeyNotFoundError
        return entry

    async def delete(self, key: str, last: int) -> None:
        entry = self._live(key)
        if entry is not None and entry.revision == last:
            del self.entries[key]

    def holder(self, key: str = KEY) -> str | None:
        entry = self._live(key)
        return json.loads(entry.value)["worker"] if entry else None


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def bucket(clock: Clock) -> Bucket:
    return Bucket(clock)


def keepers(bucket: Bucket, clock: Clock) -> tuple[LeaseKeeper, LeaseKeeper]:
    return LeaseKeeper(bucket, TERMS, "worker-a", clock), LeaseKeeper(bucket, TERMS, "worker-b", clock)


def run(coro):  # noqa: ANN001, ANN201
    return asyncio.run(coro)


def test_the_first_worker_takes_the_lease_and_the_second_waits_knowing_who_holds_it(bucket, clock):
    a, b = keepers(bucket, clock)
    assert run(a.try_take(KEY)) is not None
    assert run(b.try_take(KEY)) is None
    assert b.holders[KEY] == "worker-a"
    assert a.still_held(KEY) and not b.still_held(KEY)


def test_renewed_well_within_the_ttl_the_lease_is_kept_for_as_long_as_the_holder_lives(bucket, clock):
    a, b = keepers(bucket, clock)
    run(a.try_take(KEY))
    for _ in range(20):  # a minute of renewals every 3 s
        clock.advance(TERMS.renew_every)
        assert run(a.renew(KEY, epoch=1))
        assert run(b.try_take(KEY)) is None
    assert bucket.holder() == "worker-a"
    assert json.loads(bucket.entries[KEY].value)["epoch"] == 1  # what operators read in the bucket


def test_a_silent_holder_loses_the_lease_after_the_ttl_and_its_next_renewal_says_so(bucket, clock):
    a, b = keepers(bucket, clock)
    run(a.try_take(KEY))
    clock.advance(TERMS.ttl - TERMS.margin)  # paused: it must not believe it still holds it
    assert not a.still_held(KEY)
    clock.advance(TERMS.margin)
    assert run(b.try_take(KEY)) is not None, "the entry expired: the waiting worker takes it"
    assert not run(a.renew(KEY))  # compare-and-set on its old revision fails
    assert a.lost == 1 and KEY not in a.held
    assert bucket.holder() == "worker-b"


def test_the_holder_gives_up_before_the_server_would_expire_the_lease(bucket, clock):
    a, _ = keepers(bucket, clock)
    lease = run(a.try_take(KEY))
    assert isinstance(lease, Lease)
    assert lease.valid_until == clock() + TERMS.ttl - TERMS.margin < bucket.entries[KEY].written + bucket.ttl


def test_a_renewal_that_cannot_reach_nats_keeps_the_lease_only_until_its_time_runs_out(bucket, clock):
    a, b = keepers(bucket, clock)
    run(a.try_take(KEY))
    bucket.down = True
    clock.advance(TERMS.renew_every)
    assert run(a.renew(KEY)), "still ours: the server cannot have expired it yet"
    clock.advance(TERMS.ttl - TERMS.renew_every - TERMS.margin)
    assert not run(a.renew(KEY)), "past its time: given up although nobody said so"
    bucket.down = False
    assert run(b.try_take(KEY)) is None  # the server's entry lives a margin longer than a believed it held
    clock.advance(TERMS.margin)
    assert run(b.try_take(KEY)) is not None


def test_a_lease_given_up_is_taken_at_once_by_the_waiting_worker(bucket, clock):
    a, b = keepers(bucket, clock)
    run(a.try_take(KEY))
    run(a.give_up(KEY))
    assert run(b.try_take(KEY)) is not None
    assert bucket.holder() == "worker-b"


def test_a_worker_takes_back_its_own_entry_after_it_lost_track_of_it(bucket, clock):
    a, b = keepers(bucket, clock)
    first = run(a.try_take(KEY))
    a.held.clear()  # e.g. its renewal's answer was lost, the entry is still its own
    again = run(a.try_take(KEY))
    assert again is not None and again.revision > first.revision
    assert run(b.try_take(KEY)) is None


def test_renewals_are_at_most_half_the_ttl_apart():
    with pytest.raises(ValueError, match="half"):
        LeaseTerms(ttl=10, renew_every=6)


def test_a_worker_holds_renews_and_on_losing_the_lease_stops_then_waits_for_it_again(bucket, clock):
    a, _ = keepers(bucket, clock)
    events: list[str] = []

    async def sleep(seconds: float) -> None:  # time passes only when the keeper waits
        clock.advance(seconds)
        if len(events) == 3:
            raise asyncio.CancelledError  # the test has seen enough: the service stops
        if events == ["taken:1"] and clock() > 1020:  # 20 s in: another worker writes it behind its back
            await bucket.update(KEY, b'{"worker": "worker-b"}', bucket.entries[KEY].revision)

    async def taken(lease: Lease) -> dict[str, object]:
        events.append(f"taken:{a.taken}")
        return {"epoch": a.taken}

    async def lost() -> None:
        events.append("lost")

    with pytest.raises(asyncio.CancelledError):
        run(hold_forever(a, KEY, taken, lost, sleep))
    assert events == ["taken:1", "lost", "taken:2"]  # and took it again once the other's entry expired
    assert clock() >= 1020 + TERMS.ttl
    assert KEY not in a.held and bucket.holder() is None, "given up when the service stopped"


def test_the_metrics_show_each_partition_held_or_waiting_and_count_the_leases_lost():
    metrics = QuotaMetrics()
    metrics.lease_changed(3, "waiting", 0)  # started as a standby
    metrics.lease_changed(3, "held", 4)
    metrics.lease_changed(3, "waiting", 0)  # its renewal failed
    metrics.lease_changed(3, "held", 6)
    text = metrics.exposition().decode()
    assert 'paspor_quota_partition_lease{partition="03",state="held"} 1.0' in text
    assert 'paspor_quota_partition_lease{partition="03",state="waiting"} 0.0' in text
    assert 'paspor_quota_partition_epoch{partition="03"} 6.0' in text
    assert "paspor_quota_leases_lost_total 1.0" in text


def test_a_lease_dropped_because_the_store_names_another_owner_is_taken_again_not_renewed(bucket, clock):
    a, b = keepers(bucket, clock)
    first = run(a.try_take(KEY))
    a.drop(KEY, "the store's fence names another owner")
    assert not run(a.renew(KEY)), "the holder stops deciding at its next renewal"
    again = run(a.try_take(KEY))  # its own entry: taken back, so the partition is taken at a new epoch
    assert again is not None and again.revision > first.revision and a.taken == 2
    assert run(b.try_take(KEY)) is None


def test_a_worker_configured_to_renew_too_rarely_for_its_ttl_is_refused_with_a_clear_message():
    with pytest.raises(ValidationError, match="renew at most every half TTL"):
        QuotaSettings(quota_lease_ttl_seconds=4, quota_lease_renew_seconds=3)
    assert QuotaSettings().lease_terms() == LeaseTerms(ttl=10.0, renew_every=3.0)


def test_a_worker_restarted_on_the_same_host_takes_over_its_killed_predecessors_lease_at_once(bucket, clock):
    killed = LeaseKeeper(bucket, TERMS, "host-1-a", clock)
    run(killed.try_take(KEY))
    restarted = LeaseKeeper(bucket, TERMS, "host-2-b", clock, is_dead=lambda holder: holder == "host-1-a")
    assert run(restarted.try_take(KEY)) is not None, "no TTL to wait: its holder is gone"
    assert not run(killed.renew(KEY))
    standby = LeaseKeeper(bucket, TERMS, "other-3-c", clock, is_dead=lambda holder: False)
    assert run(standby.try_take(KEY)) is None, "a live holder (or one of another host) is waited for"


def test_only_a_gone_process_of_this_host_is_known_dead():
    here = socket.gethostname()
    assert dead_on_this_host(f"{here}-{os.getpid()}-0ld1d")  # our pid under another name: an earlier life
    assert not dead_on_this_host(f"{here}-1-abcdef"), "pid 1 runs"
    assert not dead_on_this_host(f"elsewhere-{os.getpid()}-abcdef"), "another host: unknown, so waited for"
    assert not dead_on_this_host("?")
