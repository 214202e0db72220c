"""The release draw's order (`shared/draw.py`): a permutation, reproducible from its seed, with no favoured position.

Properties for any entries and seed (hypothesis), and a chi-square test of position bias over many
draws from fixed seeds (no randomness outside the seeds: the test gives the same figures every run).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.quota.draw import ReleaseDraw, entry
from shared.draw import DrawWindow, InvalidDrawWindow, commitment, draw_order, verify

SEEDS = st.binary(min_size=1, max_size=64)
NIKS = st.integers(min_value=0, max_value=40)
AT = dt.datetime(2027, 1, 13, 2, 0, tzinfo=dt.UTC)


@given(st.lists(st.uuids().map(str), unique=True, max_size=300), SEEDS)
def test_a_draw_is_a_permutation_of_its_entries_and_the_seed_makes_it_again(entries, seed):
    order = draw_order(entries, seed)
    assert sorted(order) == sorted(entries)
    assert draw_order(entries, seed) == order
    assert verify(entries, order, seed, commitment(seed)) == []


@settings(max_examples=60)
@given(st.lists(st.lists(NIKS, min_size=1, max_size=5, unique=True), max_size=60), SEEDS)
def test_in_a_waiting_room_no_nik_holds_two_places_in_the_draw(requests, seed):
    """People joining with overlapping NIKs (a broker using another's): each NIK is in the draw once."""
    room = ReleaseDraw("JKT-SEL", dt.date(2027, 3, 17), commitment(seed), AT, AT + dt.timedelta(minutes=15))
    entries = [entry(str(uuid.uuid4()), ["pagi"], [f"nik-{n}" for n in niks], "c", "m") for niks in requests]
    room.join(entries, AT)
    offers = room.draw(seed, AT)
    drawn_keys = [k for e in room.entries for k in e["keys"]]
    assert len(drawn_keys) == len(set(drawn_keys))
    assert sorted(o["booking_id"] for o in offers) == sorted(e["booking_id"] for e in entries)  # none is lost
    assert room.order == draw_order([e["booking_id"] for e in room.entries], seed)


def test_one_different_seed_makes_another_order_and_fails_the_commitment():
    entries = [f"entry-{i}" for i in range(50)]
    seed = b"the committed seed"
    assert draw_order(entries, b"another seed") != draw_order(entries, seed)
    wrong = verify(entries, draw_order(entries, seed), b"another seed", commitment(seed))
    assert any("is not the commitment" in w for w in wrong) and any("position(s) differ" in w for w in wrong)


def test_a_swapped_pair_of_positions_is_found():
    entries = [f"entry-{i}" for i in range(20)]
    seed = b"seed"
    order = draw_order(entries, seed)
    order[3], order[11] = order[11], order[3]
    (wrong,) = verify(entries, order, seed, commitment(seed))
    assert "2 position(s) differ" in wrong and "the first at 4" in wrong


def position_counts(
    shuffle: Callable[[list[int], bytes], list[int]], n: int = 8, draws: int = 40_000
) -> list[list[int]]:
    """How often entry k lands at each position, over `draws` draws from fixed seeds."""
    counts = [[0] * n for _ in range(n)]
    for d in range(draws):
        seed = hashlib.sha256(f"fixed seed {d}".encode()).digest()
        for position, k in enumerate(shuffle(list(range(n)), seed)):
            counts[k][position] += 1
    return counts


def chi_square(counts: list[list[int]]) -> tuple[list[float], float]:
    """Per entry (7 degrees of freedom), and the whole table scaled: its cells are permutation counts, whose
    Pearson sum tends to n/(n-1) times a chi-square of (n-1)^2 = 49 degrees of freedom."""
    n = len(counts)
    expected = sum(counts[0]) / n
    rows = [sum((c - expected) ** 2 / expected for c in row) for row in counts]
    return rows, sum(rows) * (n - 1) / n


def naive_shuffle(entries: list[int], seed: bytes) -> list[int]:
    """The classic mistake, every position swapped with any (n^n paths onto n! orders): biased."""
    for i in range(len(entries)):
        j = int.from_bytes(hashlib.sha256(seed + bytes([i])).digest()[:8], "big") % len(entries)
        entries[i], entries[j] = entries[j], entries[i]
    return entries


def test_no_position_is_favoured_over_many_draws():
    rows, whole = chi_square(position_counts(draw_order))
    # P(chi2_7 > 24.32) = 0.001 and P(chi2_49 > 85.35) = 0.001: fixed seeds, so the same figures every run.
    assert max(rows) < 24.32 and whole < 85.35, (rows, whole)


def test_the_same_chi_square_bound_catches_a_biased_shuffle():
    rows, whole = chi_square(position_counts(naive_shuffle, draws=20_000))
    assert max(rows) > 24.32 and whole > 85.35, (rows, whole)


def test_a_draw_window_needs_lengths_of_zero_or_more_and_some_duration():
    with pytest.raises(InvalidDrawWindow):
        DrawWindow(before=dt.timedelta(minutes=-1))
    with pytest.raises(InvalidDrawWindow):
        DrawWindow(before=dt.timedelta(0), after=dt.timedelta(0))
    window = DrawWindow()
    release = AT
    assert not window.contains(release, release - dt.timedelta(minutes=10, microseconds=1))
    assert window.contains(release, release - dt.timedelta(minutes=10))
    assert window.contains(release, release + dt.timedelta(minutes=5, microseconds=-1))
    assert not window.contains(release, release + dt.timedelta(minutes=5))
