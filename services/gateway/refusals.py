"""The sold-out fast path's one rule: a session the read model shows full (or closed) is refused at once.

Used by the booking route and by the door in front of the router (`door.py`), so both answer alike.
"""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict, Field, model_validator

from shared.events import Applicant, Session
from shared.events.booking import check_fallbacks
from shared.offices import Office

from .deps import Gateway
from .problems import ProblemError

REFUSALS = {
    "sold_out": (
        "This session is full; choose another date or session.",
        "Sesi ini sudah penuh; pilih tanggal atau sesi lain.",
    ),
    "office_closed": ("The office is closed in this session.", "Kantor tutup pada sesi ini."),
}


class BookingBody(BaseModel):
    """What a citizen submits to book."""

    model_config = ConfigDict(extra="forbid")
    office: str = Field(min_length=2, max_length=16, description="Office code.", examples=["JKT-SEL"])
    date: dt.date = Field(description="Appointment date (an office day).", examples=["2026-12-14"])
    session: Session = Field(description="pagi or siang.")
    kk_number: str = Field(
        min_length=16, max_length=16, description="Family card number, 16 digits.", examples=["3174010101200001"]
    )
    applicants: list[Applicant] = Field(
        min_length=1, max_length=5, description="One to five applicants on that family card."
    )
    fallbacks: list[Session] = Field(
        default_factory=list,
        max_length=2,
        description="Other sessions of the same date you also take, in order, if the release draw finds the "
        "wanted one full (distinct, never the wanted one). Outside a release draw only the wanted one is tried.",
        examples=[["siang"]],
    )

    @model_validator(mode="after")
    def _fallbacks_are_other_sessions(self) -> BookingBody:
        check_fallbacks(self.session, self.fallbacks)
        return self


def at_once(gw: Gateway, account: str, key: str, office: Office, day: dt.date, session: str) -> str | None:
    """Why this request is refused without entering the pipeline, or None to send it on (remembered).

    The same key always gets the same answer: a retry of a request sent on gets its booking, never a
    refusal at once; a retry of a request refused at once is refused again.
    """
    assert gw.availability is not None
    known, earlier = gw.decided(account, key)
    if known:
        return earlier
    reason = gw.availability.full_or_closed(office, day, session)
    gw.remember(account, key, reason)  # before anything is awaited: a double tap in flight agrees
    return reason


def refusal(gw: Gateway, reason: str) -> ProblemError:
    """The problem a request refused at once is answered with (counted)."""
    gw.metrics.fast_refusals.labels(reason).inc()
    return ProblemError(reason, *REFUSALS[reason])
