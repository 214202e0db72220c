"""Structurally valid, distinct identity numbers for simulated citizens (a run's own, so runs never collide)."""

from __future__ import annotations

import datetime as dt

NAMES = ("Siti Aminah", "Budi Santoso", "Dewi Lestari", "Agus Salim", "Nur Aisyah", "Rina Wati", "Joko Widodo")


class Identities:
    """NIKs and KK numbers for one run: the birth date is the run's, the serial the applicant's."""

    def __init__(self, run: int) -> None:
        self.birth = dt.date(1960, 1, 1) + dt.timedelta(days=run % 15000)
        self.run = run

    def nik(self, number: int) -> str:
        district = number // 9999 % 99 + 1
        return f"3174{district:02d}{self.birth:%d%m%y}{number % 9999 + 1:04d}"

    def kk(self, serial: int) -> str:
        return f"317401{(self.run * 1_000_003 + serial) % 10**10:010d}"

    def applicants(self, numbers: list[int]) -> list[dict[str, str]]:
        """The applicants of one booking, from their identity numbers (see `User.nik_numbers`)."""
        return [
            {"name": NAMES[number % len(NAMES)], "nik": self.nik(number), "birth_date": self.birth.isoformat()}
            for number in numbers
        ]
