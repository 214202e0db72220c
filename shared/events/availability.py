"""The availability read model: remaining places per session, in a JetStream key-value bucket.

The quota service writes one entry per (office, date, session) after every batch that changed it;
the gateway reads it to show the calendar and to refuse a sold-out session at once, without
entering the pipeline. A missing entry means nothing was booked yet (capacity from the office data).
"""

from __future__ import annotations

import datetime as dt

from pydantic import Field

from .common import Frozen, Session

AVAILABILITY_BUCKET = "paspor_availability"
# What the gateways did with each (account, idempotency key): sent on, or refused at once and why.
IDEMPOTENCY_BUCKET = "paspor_idempotency"
IDEMPOTENCY_TTL_SECONDS = 86_400  # a retry comes within seconds or minutes; a day is ample
# The gateways' shared admission counters: booking attempts per account and per client address, per window.
ADMISSION_BUCKET = "paspor_admission"
ADMISSION_TTL_SECONDS = 900  # a counter outlives its window (at most 300 s) and is then forgotten


def availability_key(office: str, day: dt.date, session: Session | str) -> str:
    """The entry's key: ``<office>.<YYYY-MM-DD>.<session>`` (valid KV key characters only)."""
    value = session.value if isinstance(session, Session) else session
    return f"{office}.{day.isoformat()}.{value}"


class SessionRemaining(Frozen):
    """One session's entry in the availability bucket (JSON)."""

    capacity: int = Field(ge=0, description="Registrants the session takes.")
    booked: int = Field(ge=0, description="Registrants booked.")
    remaining: int = Field(ge=0, description="Places left (0 when closed).")
    closed: bool = Field(default=False, description="Closed by an operator (e.g. an unplanned closure).")
