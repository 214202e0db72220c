"""Token buckets per address, account and device: a citizen gone quiet costs no memory, and nobody's answer changes."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from services.gateway.ratelimit import RateLimiter


class Ticks:
    """A pinned monotonic clock, moved by hand."""

    def __init__(self) -> None:
        self.at = 500.0

    def __call__(self) -> float:
        return self.at


def test_a_bucket_left_alone_until_it_is_full_again_is_forgotten_and_a_busy_one_is_kept():
    clock = Ticks()
    limiter = RateLimiter(2, burst_seconds=1.0, clock=clock)  # two a second, a burst of two: full again in 1 s
    assert [limiter.wait_needed("account:siti") for _ in range(3)] == [0.0, 0.0, 0.5]
    assert limiter.wait_needed("account:budi") == 0.0
    clock.at += 0.5
    assert limiter.wait_needed("account:siti") == 0.0, "one token back"
    clock.at += 0.5
    assert "account:budi" not in limiter.buckets and "account:siti" in limiter.buckets
    clock.at += 1.0
    assert len(limiter.buckets) == 0, "both full again: as if never seen"
    assert [limiter.wait_needed("account:siti") for _ in range(3)] == [0.0, 0.0, 0.5], "a whole burst, as before"


class Remembering(RateLimiter):
    """The same limiter that never forgets a bucket: what the answers were before buckets were forgotten."""

    def __init__(self, rate: float, burst_seconds: float, clock: Ticks) -> None:
        super().__init__(rate, burst_seconds, clock=clock)
        self.buckets.horizon = float("inf")


@given(
    rate=st.sampled_from([1, 2, 4, 5, 10]),
    burst=st.sampled_from([1.0, 2.0]),
    requests=st.lists(st.tuples(st.sampled_from(["ani", "budi", "citra"]), st.integers(0, 12)), max_size=60),
)
def test_forgetting_full_buckets_changes_no_answer(rate, burst, requests):
    clock = Ticks()
    forgetting, remembering = RateLimiter(rate, burst, clock=clock), Remembering(rate, burst, clock)
    for who, quarter_seconds_later in requests:
        clock.at += quarter_seconds_later / 4
        assert forgetting.wait_needed(who) == remembering.wait_needed(who)
