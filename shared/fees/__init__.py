"""The passport fee (PNBP) per applicant, from the packaged data file `fees.toml` (its source is named there)."""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

__all__ = ["Fee", "FeeTable", "UnknownFee", "fee_table"]


class UnknownFee(LookupError):
    """An applicant's passport or service type has no fee in the table."""


@dataclass(frozen=True)
class Fee:
    """One line of the table: an amount in whole rupiah and what it is for."""

    amount: int
    label_en: str
    label_id: str


@dataclass(frozen=True)
class FeeTable:
    """Fees by passport type and by service type; where the figures come from."""

    passport: Mapping[str, Fee]
    service: Mapping[str, Fee]
    source: Mapping[str, object]

    def for_applicant(self, passport_type: str, service: str) -> int:
        """The passport's fee and the service's charge (a replacement's) for one applicant."""
        try:
            return self.passport[passport_type].amount + self.service[service].amount
        except KeyError as missing:
            raise UnknownFee(f"no fee for {missing.args[0]!r} in shared/fees/fees.toml") from None

    def for_applicants(self, applicants: Iterable[Mapping[str, str]]) -> int:
        """The amount a booking pays: every applicant's fee (a missing type is a regular, new passport)."""
        return sum(self.for_applicant(a.get("passport_type", "regular"), a.get("service", "new")) for a in applicants)


def parse(text: str) -> FeeTable:
    """A fee table from TOML text (ValueError when an amount is not a whole, non-negative number)."""
    data = tomllib.loads(text)

    def fees(section: str) -> dict[str, Fee]:
        out = {}
        for name, line in data[section].items():
            amount = line.get("amount")
            if not isinstance(amount, int) or isinstance(amount, bool) or amount < 0:
                raise ValueError(f"fee {section}.{name}: amount must be whole rupiah >= 0, got {amount!r}")
            out[name] = Fee(amount, str(line.get("label_en", name)), str(line.get("label_id", name)))
        return out

    return FeeTable(passport=fees("passport"), service=fees("service"), source=dict(data.get("source", {})))


@lru_cache(maxsize=1)
def fee_table() -> FeeTable:
    """The packaged table."""
    return parse(resources.files(__package__).joinpath("fees.toml").read_text(encoding="utf-8"))
