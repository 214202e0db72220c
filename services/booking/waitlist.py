"""A booking that waits on a full session's waitlist: waitlisted, then offered a held place, then decided.

`requested` -> `waitlisted` (quota put it on the waitlist) -> `offered` (a freed place is held for it
until `hold_until`) -> `confirmed` (accepted in time: quota's reservation) or `rejected` (`hold_lapsed`,
the registration given back). A waiting or offered booking is upcoming: it holds the account's one
booking and its NIKs' claims, so one account and one NIK wait at most once, and it may be cancelled.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any, ClassVar

from eventsourcing.domain import Aggregate, event

PENDING = ("requested", "waitlisted", "offered")  # not decided yet: quota's decision may still come


class WaitingBooking(Aggregate):
    """The waitlist part of `Booking` (a base class: its events are the booking's own)."""

    if TYPE_CHECKING:  # provided by Booking
        status: str
        office: str
        day: dt.date
        session: str
        correlation_id: str
        queue_number: int | None
        history: list[tuple[str, dt.datetime, str]]
        Waitlisted: ClassVar[type[Any]]
        Offered: ClassVar[type[Any]]

    @property
    def hold_until(self) -> dt.datetime | None:
        return self.__dict__.get("offer_deadline")

    @property
    def held_number(self) -> int | None:
        """The queue number held for it while it is offered a place."""
        return self.__dict__.get("offer_number") if self.status == "offered" else None

    def wait(self, at: dt.datetime, causation_id: str) -> bool:
        """Quota put it on the session's waitlist; False if it moved on already."""
        if self.status != "requested":
            return False
        self._waitlisted(self.office, self.day, self.session, at, self.correlation_id, causation_id)
        return True

    def offer(self, queue_number: int, hold_until: dt.datetime, at: dt.datetime, causation_id: str) -> bool:
        """A freed place is held for it until `hold_until`; False if it moved on already."""
        if self.status not in ("requested", "waitlisted"):
            return False
        self._offered(
            self.office, self.day, self.session, queue_number, hold_until, at, self.correlation_id, causation_id
        )
        return True

    @event("Waitlisted")
    def _waitlisted(
        self, office: str, day: dt.date, session: str, at: dt.datetime, correlation_id: str, causation_id: str
    ) -> None:
        self.status = "waitlisted"
        self.history.append(("waitlisted", at, ""))

    @event("Offered")
    def _offered(
        self,
        office: str,
        day: dt.date,
        session: str,
        queue_number: int,
        hold_until: dt.datetime,
        at: dt.datetime,
        correlation_id: str,
        causation_id: str,
    ) -> None:
        self.status = "offered"
        self.__dict__["offer_deadline"], self.__dict__["offer_number"] = hold_until, queue_number
        self.history.append(("offered", at, f"queue number {queue_number} held until {hold_until.isoformat()}"))
