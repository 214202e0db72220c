"""What a gateway remembers of each Idempotency-Key, and for how long: a retry gets the same answer while
the shared bucket would keep it (a day), yet a steady stream of new citizens does not fill the memory."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

from gateway_fakes import FakeServices

from services.gateway.auth import TokenVerifier
from services.gateway.deps import LOCAL_KEYS_SECONDS, Gateway
from services.gateway.idempotency import SENT_ON, SharedKeys, shared_key
from shared.events import IDEMPOTENCY_TTL_SECONDS

HOUR = 3_600.0


class Ticks:
    """A pinned clock in Unix seconds, moved by hand."""

    def __init__(self) -> None:
        self.at = 1_800_000_000.0

    def __call__(self) -> float:
        return self.at


def gateway(clock: Ticks, shared: SharedKeys | None = None) -> Gateway:
    return Gateway(FakeServices(), TokenVerifier([]), shared_keys=shared, clock=clock)


def test_alone_a_gateway_gives_a_retry_the_same_answer_for_the_buckets_whole_day_then_forgets_it():
    clock = Ticks()
    gw = gateway(clock)
    gw.remember("google:siti", "tap-1", "sold_out")
    gw.remember("google:budi", "tap-1")  # sent on
    clock.at += 23 * HOUR
    assert gw.decided("google:siti", "tap-1") == (True, "sold_out"), "refused at once: refused again"
    assert gw.decided("google:budi", "tap-1") == (True, None), "sent on: sent on again, to get its booking"
    clock.at += HOUR
    assert gw.decided("google:siti", "tap-1") == (False, None) and len(gw.keys_seen) == 0


def test_with_the_shared_keys_its_own_memory_is_short_and_a_later_retry_is_answered_from_the_mirror():
    clock = Ticks()
    gw = gateway(clock, SharedKeys(clock=clock))
    gw.remember("google:siti", "tap-1", "sold_out")
    gw.remember("google:budi", "tap-1")
    clock.at += LOCAL_KEYS_SECONDS
    assert len(gw.keys_seen) == 0, "its own fast path forgot them"
    assert gw.decided("google:siti", "tap-1") == (True, "sold_out")
    assert gw.decided("google:budi", "tap-1") == (True, None)
    clock.at += IDEMPOTENCY_TTL_SECONDS - LOCAL_KEYS_SECONDS
    assert gw.decided("google:budi", "tap-1") == (False, None), "gone from the bucket: gone from the mirror"


def test_a_shorter_configured_ttl_is_how_long_every_memory_of_a_key_lasts():
    clock = Ticks()
    ttl = 300.0  # PASPOR_IDEMPOTENCY_TTL_SECONDS=300: five minutes, shorter than its own fast path's ten
    alone = Gateway(FakeServices(), TokenVerifier([]), clock=clock, idempotency_ttl=ttl)
    mirror = SharedKeys(clock=clock, ttl=ttl)
    shared = Gateway(FakeServices(), TokenVerifier([]), clock=clock, idempotency_ttl=ttl, shared_keys=mirror)
    for gw in (alone, shared):
        gw.remember("google:siti", "tap-1", "sold_out")
    clock.at += ttl - 1
    assert alone.decided("google:siti", "tap-1") == shared.decided("google:siti", "tap-1") == (True, "sold_out")
    clock.at += 1
    assert alone.decided("google:siti", "tap-1") == shared.decided("google:siti", "tap-1") == (False, None)
    assert len(alone.keys_seen) == len(shared.keys_seen) == len(mirror.mirror) == 0


@dataclass
class Entry:
    key: str
    value: bytes | None
    operation: str | None = None


class Watcher:
    """The bucket's watch as nats-py gives it: its entries, then None (all that there was is in)."""

    def __init__(self, entries: list[Entry]) -> None:
        self.entries = entries

    async def _all(self) -> AsyncIterator[Entry | None]:
        for entry in [*self.entries, None]:
            yield entry

    def __aiter__(self) -> AsyncIterator[Entry | None]:
        return self._all()

    async def stop(self) -> None:
        return None


class Bucket:
    def __init__(self, entries: list[Entry]) -> None:
        self.entries = entries

    async def watchall(self) -> Watcher:
        return Watcher(self.entries)


async def test_another_replicas_decision_is_answered_here_until_the_bucket_forgets_it_too():
    clock = Ticks()
    here = SharedKeys(clock=clock)
    elsewhere = [
        Entry(shared_key("google:siti", "tap-1"), SENT_ON),
        Entry(shared_key("google:budi", "tap-2"), b"sold_out"),
    ]
    await here._watch(Bucket(elsewhere))
    assert here.watching.is_set()
    clock.at += IDEMPOTENCY_TTL_SECONDS - 1
    assert here.lookup("google:siti", "tap-1") == (True, None)
    assert here.lookup("google:budi", "tap-2") == (True, "sold_out")
    clock.at += 1
    assert here.lookup("google:siti", "tap-1") == (False, None) and len(here.mirror) == 0


def test_the_mirror_stays_within_its_cap_under_a_flood():
    clock = Ticks()
    mirror = SharedKeys(keep=1_000, clock=clock)
    for citizen in range(5_000):
        mirror.share(f"google:{citizen}", "tap-1", None)
    assert len(mirror.mirror) == 1_000 and mirror.lookup("google:4999", "tap-1") == (True, None)
