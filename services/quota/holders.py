"""Who holds which queue number in one session, kept small: a worker caches every session of 90 days."""

from __future__ import annotations

import sys
from array import array
from collections.abc import Iterator, MutableMapping

ID_BYTES = 16


class Holders(MutableMapping[int, int]):
    """Booking id (a UUID's 128-bit int) -> queue number (1..65,535), in 18 bytes a holder.

    A dict of ints takes about 100 bytes an entry, and a worker holds every reservation of every
    office for 90 days (its memory is measured in BENCHMARKS.md). A session holds at most its
    capacity (about 100), so a lookup scans at most ~1.6 KB of packed ids, in C.
    """

    __slots__ = ("_ids", "_numbers")

    def __init__(self) -> None:
        self._ids = bytearray()
        self._numbers = array("H")

    def _index(self, key: int) -> int:
        """The holder's position, or -1."""
        needle = key.to_bytes(ID_BYTES, "big")
        at = self._ids.find(needle)
        while at > 0 and at % ID_BYTES:  # a match straddling two ids is not one
            at = self._ids.find(needle, at + 1)
        return -1 if at < 0 else at // ID_BYTES

    def __contains__(self, key: object) -> bool:
        return isinstance(key, int) and self._index(key) >= 0

    def get(self, key: int, default: int | None = None) -> int | None:  # type: ignore[override]
        index = self._index(key)
        return default if index < 0 else self._numbers[index]

    def __getitem__(self, key: int) -> int:
        index = self._index(key)
        if index < 0:
            raise KeyError(key)
        return self._numbers[index]

    def __setitem__(self, key: int, number: int) -> None:
        index = self._index(key)
        if index >= 0:
            self._numbers[index] = number
        else:
            self._numbers.append(number)  # first: a number out of range (over 65,535) changes nothing
            self._ids += key.to_bytes(ID_BYTES, "big")

    def __delitem__(self, key: int) -> None:
        index = self._index(key)
        if index < 0:
            raise KeyError(key)
        del self._ids[index * ID_BYTES : (index + 1) * ID_BYTES]
        del self._numbers[index]

    def __iter__(self) -> Iterator[int]:
        ids = self._ids
        return (int.from_bytes(ids[i : i + ID_BYTES], "big") for i in range(0, len(ids), ID_BYTES))

    def __len__(self) -> int:
        return len(self._numbers)

    def packed(self) -> tuple[bytes, bytes]:
        """The ids and the numbers (16-bit, little-endian) as bytes: a snapshot's form."""
        numbers = array("H", self._numbers)
        if sys.byteorder == "big":
            numbers.byteswap()
        return bytes(self._ids), numbers.tobytes()

    @classmethod
    def unpacked(cls, ids: bytes, numbers: bytes) -> Holders:
        holders = cls()
        holders._ids = bytearray(ids)
        holders._numbers.frombytes(numbers)
        if sys.byteorder == "big":
            holders._numbers.byteswap()
        if len(holders._ids) != ID_BYTES * len(holders._numbers):
            raise ValueError("a snapshot's holders: as many ids as numbers expected")
        return holders

    def numbers(self) -> set[int]:
        """The queue numbers held."""
        return set(self._numbers)

    def __repr__(self) -> str:
        return f"Holders({dict(self.items())!r})"
