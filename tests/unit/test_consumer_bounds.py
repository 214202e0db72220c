"""How a fetched batch is cut into saves: bounded in events and in bytes, in order, nothing left out."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from shared.runtime.consumer import bounded
from shared.runtime.settings import CommonSettings


def test_a_batch_within_both_bounds_is_one_save():
    assert bounded([100.0] * 10, max_items=10, max_bytes=1000) == [(0, 10)]


def test_too_many_events_are_cut_by_count_and_too_many_bytes_by_size():
    assert bounded([1.0] * 7, max_items=3, max_bytes=1000) == [(0, 3), (3, 6), (6, 7)]
    assert bounded([400.0] * 5, max_items=100, max_bytes=1000) == [(0, 2), (2, 4), (4, 5)]


def test_an_event_larger_than_the_byte_bound_goes_alone_never_dropped():
    assert bounded([10.0, 5000.0, 10.0], max_items=100, max_bytes=1000) == [(0, 1), (1, 2), (2, 3)]


def test_the_bounds_are_settings_with_defaults():
    settings = CommonSettings()
    assert (settings.consumer_max_items, settings.consumer_max_bytes) == (2000, 1_000_000)


@given(
    st.lists(st.floats(min_value=1, max_value=5000), max_size=200),
    st.integers(min_value=1, max_value=50),
    st.integers(min_value=1000, max_value=20_000),
)
def test_saves_cover_every_event_once_in_order_within_the_bounds(sizes, max_items, max_bytes):
    ranges = bounded(sizes, max_items, max_bytes)
    assert [i for start, end in ranges for i in range(start, end)] == list(range(len(sizes)))
    for start, end in ranges:
        assert end - start <= max_items
        assert end - start == 1 or sum(sizes[start:end]) <= max_bytes
