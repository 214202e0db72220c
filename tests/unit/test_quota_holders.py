"""The packed table of a session's holders behaves exactly like the dict it replaces."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from services.quota.holders import Holders

# Ids made of two byte values only: packed side by side, one id's tail and the next one's head
# often spell a third id, which must not be taken for it.
ids = st.lists(st.sampled_from([0x00, 0x01]), min_size=16, max_size=16).map(lambda b: int.from_bytes(bytes(b), "big"))
operations = st.lists(st.tuples(st.sampled_from(["set", "delete", "get"]), ids, st.integers(1, 500)), max_size=60)


@given(operations)
def test_holders_answer_as_a_dict_would(steps):
    holders, model = Holders(), {}
    for action, key, number in steps:
        if action == "set":
            holders[key], model[key] = number, number
        elif action == "delete" and key in model:
            del holders[key], model[key]
        assert (key in holders) == (key in model)
        assert holders.get(key) == model.get(key)
    assert dict(holders.items()) == model and len(holders) == len(model)
    assert holders.numbers() == set(model.values())


def test_an_id_spelled_across_two_neighbours_is_not_found():
    holders = Holders()
    first, second = int("00" * 8 + "ab" * 8, 16), int("cd" * 8 + "00" * 8, 16)
    holders[first], holders[second] = 1, 2
    straddling = int("ab" * 8 + "cd" * 8, 16)  # first's tail + second's head
    assert straddling not in holders and holders.get(straddling) is None
    holders[straddling] = 3
    assert holders[straddling] == 3 and len(holders) == 3
