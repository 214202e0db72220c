"""The keyed ids a booking request shows a release draw, so that each NIK and account enters a draw once.

Keyed with the identity key (`shared/pseudonyms.py`, as the NIK claims are), and for one office and
date only: the quota service can tell that two entries share a NIK, but neither guess the NIK back nor
follow a person from one draw to another.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from uuid import UUID

from shared.pseudonyms import Pseudonyms


def draw_keys(pseudonyms: Pseudonyms, office: str, day: dt.date, account_id: UUID, niks: Iterable[str]) -> list[str]:
    """The account's and each NIK's keyed id for the draw of `office` on `day` (32 hex digits each)."""
    kind = f"draw:{office}:{day.isoformat()}"
    values = [f"account:{account_id}", *(f"nik:{nik}" for nik in niks)]
    return [pseudonyms.id_for(kind, value).hex for value in values]
