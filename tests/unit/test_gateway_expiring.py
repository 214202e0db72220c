"""The gateway's memories forget by age and by count: a steady stream of new citizens levels off, never fills up."""

from __future__ import annotations

from services.gateway.expiring import Expiring


class Ticks:
    """A pinned clock in seconds, moved by hand."""

    def __init__(self) -> None:
        self.at = 1_000.0

    def __call__(self) -> float:
        return self.at


def test_an_entry_is_kept_until_its_horizon_and_forgotten_from_then_on():
    clock = Ticks()
    memory: Expiring[str, int] = Expiring(horizon=60, cap=100, clock=clock)
    memory.put("siti", 1)
    clock.at += 59.9
    assert memory.get("siti") == 1 and "siti" in memory
    clock.at += 0.1
    assert memory.get("siti") is None and "siti" not in memory and len(memory) == 0


def test_a_steady_stream_levels_at_what_arrives_within_the_horizon():
    clock = Ticks()
    memory: Expiring[int, None] = Expiring(horizon=60, cap=100_000, clock=clock)
    for citizen in range(3_000):  # a new citizen a second for 50 minutes
        clock.at = 1_000.0 + citizen
        memory.put(citizen, None)
    assert len(memory) == 60, "a minute's worth, not everyone who ever came"
    assert memory.crowded_out == 0


def test_beyond_its_cap_the_oldest_are_forgotten_first_and_counted():
    clock = Ticks()
    memory: Expiring[str, int] = Expiring(horizon=60, cap=3, clock=clock)
    for number, name in enumerate(["ani", "budi", "citra", "dewi", "eka"]):
        memory.put(name, number)
    assert len(memory) == 3 and "ani" not in memory and "budi" not in memory and memory["eka"] == 4
    assert memory.crowded_out == 2, "forgotten before their horizon: the cap was too small for the load"


def test_putting_again_stamps_anew_and_moves_to_the_newest_end():
    clock = Ticks()
    memory: Expiring[str, int] = Expiring(horizon=60, cap=2, clock=clock)
    memory.put("ani", 1)
    clock.at += 50
    memory.put("budi", 2)
    memory.put("ani", 3)  # written again: young again
    clock.at += 20
    assert memory.get("ani") == 3 and "budi" in memory
    memory.put("citra", 4)
    assert "budi" not in memory and memory.get("ani") == 3, "the least recently put is the first crowded out"


def test_with_refresh_an_entry_in_use_is_kept_and_an_idle_one_forgotten():
    clock = Ticks()
    memory: Expiring[str, str] = Expiring(horizon=600, cap=100, clock=clock, refresh=True)
    memory.put("busy phone", "key A")
    memory.put("idle phone", "key B")
    for _ in range(5):  # used every 5 minutes for 25 minutes
        clock.at += 300
        assert memory.get("busy phone") == "key A"
    assert "idle phone" not in memory and len(memory) == 1


def test_a_value_of_none_is_kept_as_a_value_not_taken_for_absence():
    memory: Expiring[str, str | None] = Expiring(horizon=60, cap=10, clock=Ticks())
    memory.put("sent on", None)
    assert "sent on" in memory and memory["sent on"] is None and "never seen" not in memory


def test_an_entry_is_forgotten_at_once_when_popped():
    memory: Expiring[str, int] = Expiring(horizon=60, cap=10, clock=Ticks())
    memory.put("ani", 1)
    assert memory.pop("ani") == 1 and memory.pop("ani") is None and "ani" not in memory


def test_an_entry_stamped_before_the_clock_went_back_is_still_judged_by_its_own_age():
    clock = Ticks()
    memory: Expiring[str, int] = Expiring(horizon=60, cap=10, clock=clock)
    memory.put("ani", 1)
    clock.at -= 50  # a clock set back: budi's stamp is older than ani's, though behind it
    memory.put("budi", 2)
    clock.at += 65
    assert "budi" not in memory, "65 s old: forgotten although ani, before it, is only 15 s old"
    assert memory.get("ani") == 1
