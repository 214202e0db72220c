"""Bookings, NIK claims and the rulebook's numbers (accounts: `accounts.py`). Pure: `now` is passed in."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from shared.calendar import is_office_day
from shared.draw import DrawWindow
from shared.events import derived_id
from shared.privacy import mask_number
from shared.pseudonyms import Pseudonyms
from shared.release import DATE_PAST, NOT_RELEASED, OFFICE_CLOSED, ReleaseSchedule
from shared.sessions import DEFAULT_SESSION_HOURS, SessionHours, session_window

from .errors import DatePast, NikAlreadyBooked, NotCancellable, NotYetReleased, OfficeClosed
from .moves import MovingBooking
from .payment_errors import NotAwaitingPayment, WrongAmount
from .waitlist import PENDING


@dataclass(frozen=True)
class Rules:
    """The rulebook's numbers (defaults from DESIGN.md, overridable by configuration)."""

    max_registrations: int = 5
    spacing_days: int = 30
    cooldown_days: int = 30
    device_move_days: int = 7  # between two moves of an account to a new device (a lost phone)
    window_days: int = 60  # the quota's release window (PASPOR_QUOTA_WINDOW_DAYS)
    release_time: dt.time = dt.time(0, 0)  # local time a date opens, window_days before it
    terms_version: str = "2026.1"  # empty: no terms to accept
    profile_required: bool = False  # True: no booking before the profile (and its KK) is given
    session_hours: tuple[SessionHours, ...] = DEFAULT_SESSION_HOURS  # PASPOR_SESSION_HOURS
    draw: DrawWindow | None = None  # the quota's release draws (PASPOR_QUOTA_DRAW*): None, first come first served

    @property
    def release(self) -> ReleaseSchedule:
        """Which dates are open: the quota service's own schedule (`shared.release`)."""
        return ReleaseSchedule(self.window_days, self.release_time)

    def check_date(self, day: dt.date, local_now: dt.datetime, closed_because: tuple[str, str] | None) -> None:
        """Refuse a date that is past, closed (`closed_because`: why, en and id) or not released yet."""
        if local_now.tzinfo is None:
            raise ValueError("local_now must carry the office's time zone")
        refusal = self.release.refusal(day, local_now, office_day=closed_because is None)
        if refusal == DATE_PAST:
            raise DatePast(day=day.isoformat())
        if refusal == OFFICE_CLOSED and closed_because:
            raise OfficeClosed(day=day.isoformat(), why_en=closed_because[0], why_id=closed_because[1])
        if refusal == NOT_RELEASED:
            opens = self.release.opens_at(day, local_now.tzinfo)
            if self.draw is not None and self.draw.contains(opens, local_now):
                return  # the date's draw window is open: the request joins its waiting room
            raise NotYetReleased(day=day.isoformat(), retry_after=opens.astimezone(dt.UTC))

    def draw_closes(self, day: dt.date, zone: dt.tzinfo, requested_at: dt.datetime) -> dt.datetime | None:
        """When the draw a request made at `requested_at` waits for is made (None: it joined no draw)."""
        if self.draw is None or not is_office_day(day):
            return None
        opens = self.release.opens_at(day, zone)
        return self.draw.closes(opens).astimezone(dt.UTC) if self.draw.contains(opens, requested_at) else None

    def session_times(self, day: dt.date, session: str, zone: dt.tzinfo) -> tuple[dt.datetime, dt.datetime]:
        """When a session starts and ends, in the office's time zone."""
        return session_window(day, session, zone, self.session_hours)


class NikClaim(Aggregate):
    """The claim of one NIK on at most one upcoming booking (anti-broker rule).

    Its id is keyed (`Pseudonyms`): the store's aggregate ids do not give the NIK away.
    """

    @staticmethod
    def id_for(nik: str, pseudonyms: Pseudonyms) -> UUID:
        return pseudonyms.id_for("nik", nik)

    @classmethod
    def opened(cls, nik: str, pseudonyms: Pseudonyms) -> NikClaim:
        return cls(nik=nik, claim_id=cls.id_for(nik, pseudonyms))

    @classmethod
    def create_id(cls, nik: str, claim_id: UUID) -> UUID:
        return claim_id

    @event("Opened")
    def __init__(self, nik: str, claim_id: UUID) -> None:
        self.nik = nik
        self.booking_id: str | None = None

    def check_free(self) -> None:
        if self.booking_id is not None:
            raise NikAlreadyBooked(nik=mask_number(self.nik))

    @event("Claimed")
    def claim(self, booking_id: str) -> None:
        self.booking_id = booking_id

    @event("Freed")
    def free(self, booking_id: str) -> None:
        if self.booking_id == booking_id:
            self.booking_id = None


class Booking(MovingBooking):
    """One registration: a slot for one to five applicants of one family card."""

    if TYPE_CHECKING:  # the event classes that @event makes below; their fields are the methods' arguments
        Requested: ClassVar[type[Any]]
        Confirmed: ClassVar[type[Any]]
        Rejected: ClassVar[type[Any]]
        Cancelled: ClassVar[type[Any]]
        Attended: ClassVar[type[Any]]
        Withdrawn: ClassVar[type[Any]]
        BillIssued: ClassVar[type[Any]]
        Paid: ClassVar[type[Any]]
        Voided: ClassVar[type[Any]]

    @staticmethod
    def id_for(account_id: UUID, idempotency_key: str) -> UUID:
        return derived_id("booking", account_id, idempotency_key)

    @classmethod
    def create_id(cls, account_id: UUID, idempotency_key: str, **_: Any) -> UUID:
        return cls.id_for(account_id, idempotency_key)

    @event("Requested")
    def __init__(
        self,
        account_id: UUID,
        idempotency_key: str,
        office: str,
        day: dt.date,
        session: str,
        kk_number: str,
        applicants: list[dict[str, str]],
        correlation_id: str,
        at: dt.datetime,
        waitlist: bool = False,
        fallbacks: list[str] | None = None,
    ) -> None:
        self.account_id, self.idempotency_key = account_id, idempotency_key
        self.waitlist = waitlist  # wait on the waitlist if the session is full
        self.fallbacks = list(fallbacks or [])  # other sessions of the day a release draw may give it
        self.office, self.day, self.session = office, day, session
        self.kk_number, self.applicants = kk_number, applicants
        self.correlation_id = correlation_id
        self.status = "requested"
        self.queue_number: int | None = None
        self.reason: str | None = None
        self.history: list[tuple[str, dt.datetime, str]] = [("requested", at, "")]
        # The payment hold (`billing.py`): set once confirmed, if a fee is asked.
        self.billing_code: str | None = None
        self.fee: int | None = None
        self.pay_by: dt.datetime | None = None
        self.paid_at: dt.datetime | None = None
        self.payment_reference: str | None = None

    @property
    def niks(self) -> list[str]:
        return [a["nik"] for a in self.applicants]

    @property
    def slot(self) -> tuple[str, dt.date, str]:
        return self.office, self.day, self.session

    def confirm(self, queue_number: int, at: dt.datetime, causation_id: str, session: str | None = None) -> bool:
        """Take the slot reserved in `session` (default: the one wanted); False if the booking moved on already.

        A release draw may reserve one of its fallbacks instead of the session wanted: the booking is then
        confirmed there. A session it never chose is not taken (False).
        """
        session = session or self.session
        if self.status not in PENDING or not self.takes(session):
            return False
        self._confirmed(
            self.office, self.day, session, len(self.applicants), queue_number, at, self.correlation_id, causation_id
        )
        return True

    def takes(self, session: str) -> bool:
        """Whether the booking may be confirmed in `session`: the one wanted, or one of its fallbacks."""
        return session == self.session or session in self.fallbacks

    def reject(self, reason: str, at: dt.datetime, causation_id: str) -> bool:
        if self.status not in PENDING:
            return False
        self._rejected(*self.slot, reason, at, self.correlation_id, causation_id)
        return True

    def withdraw(self, why: str, at: dt.datetime, causation_id: str) -> bool:
        """The office closed the session and took the slot back; False if the booking moved on already."""
        if not self.upcoming:
            return False
        self._withdrawn(*self.slot, why, at, self.correlation_id, causation_id)
        return True

    def attend(self, checked_in: bool, at: dt.datetime, detail: str, causation_id: str) -> bool:
        """Checked in at the office, or missed it; False if the booking is not confirmed (any more)."""
        if self.status != "confirmed":
            return False
        self._attended("checked_in" if checked_in else "no_show", at, detail, causation_id)
        return True

    @property
    def _moved_holder(self) -> str:
        """The id quota holds a rescheduled booking's slot under (empty: the booking's own)."""
        return str(self.holder) if self.rescheduled else ""

    @property
    def upcoming(self) -> bool:
        return self.status in (*PENDING, "confirmed")

    def cancel(self, at: dt.datetime) -> None:
        if self.status not in (*PENDING, "confirmed"):
            raise NotCancellable(status=self.status)
        self._cancelled(*self.slot, self.status == "confirmed", at, self.correlation_id, self._moved_holder)

    @event("Confirmed")
    def _confirmed(
        self,
        office: str,
        day: dt.date,
        session: str,
        applicants: int,
        queue_number: int,
        at: dt.datetime,
        correlation_id: str,
        causation_id: str,
    ) -> None:
        moved = session != self.session
        self.session, self.status, self.queue_number = session, "confirmed", queue_number  # its fallback, maybe
        self.history.append(("confirmed", at, f"queue number {queue_number}" + (f", {session}" if moved else "")))

    @event("Rejected")
    def _rejected(
        self,
        office: str,
        day: dt.date,
        session: str,
        reason: str,
        at: dt.datetime,
        correlation_id: str,
        causation_id: str,
    ) -> None:
        self.status, self.reason = "rejected", reason
        self.history.append(("rejected", at, reason))

    @event("Cancelled")
    def _cancelled(
        self,
        office: str,
        day: dt.date,
        session: str,
        was_confirmed: bool,
        at: dt.datetime,
        correlation_id: str,
        holder: str = "",  # a rescheduled booking's slot is held under its move's id (`moves.py`)
    ) -> None:
        self.status, self.reason = "cancelled", "cancelled by the applicant"
        self.history.append(("cancelled", at, ""))

    @event("Attended")
    def _attended(self, status: str, at: dt.datetime, detail: str, causation_id: str) -> None:
        self.status = status
        self.history.append((status, at, detail))

    @event("Withdrawn")
    def _withdrawn(
        self,
        office: str,
        day: dt.date,
        session: str,
        why: str,
        at: dt.datetime,
        correlation_id: str,
        causation_id: str,
    ) -> None:
        self.status, self.reason = "rejected", "office_closed"
        self.history.append(("rejected", at, why))

    # The payment hold: a confirmed booking is billed, then paid before its deadline or voided.
    # Paying and voiding are both decided here, so the store's optimistic concurrency on this one
    # aggregate lets exactly one of a racing payment and expiry win.

    @property
    def awaiting_payment(self) -> bool:
        return self.status == "confirmed" and self.billing_code is not None and self.paid_at is None

    def issue_bill(self, billing_code: str, amount: int, deadline: dt.datetime, at: dt.datetime) -> bool:
        """Bill a just-confirmed booking; False if it is billed already or no longer confirmed."""
        if self.status != "confirmed" or self.billing_code is not None:
            return False
        self._bill_issued(billing_code, amount, deadline, at)
        return True

    def pay(self, reference: str, amount: int, at: dt.datetime) -> None:
        """Record the fee as paid (the booking stays confirmed, now for good)."""
        if not self.awaiting_payment:
            state = "paid" if self.paid_at is not None else self.status
            raise NotAwaitingPayment(state=state)
        if amount != self.fee:
            raise WrongAmount(paid=amount, billed=self.fee)
        self._paid(reference, amount, at)

    def void_unpaid(self, at: dt.datetime) -> bool:
        """Void the booking if its deadline passed unpaid; False if it was paid, ended, or is not due."""
        if not self.awaiting_payment or self.pay_by is None or at < self.pay_by:
            return False
        self._voided(*self.slot, "unpaid", at, self.correlation_id, self._moved_holder)
        return True

    @event("BillIssued")
    def _bill_issued(self, billing_code: str, amount: int, deadline: dt.datetime, at: dt.datetime) -> None:
        self.billing_code, self.fee, self.pay_by = billing_code, amount, deadline

    @event("Paid")
    def _paid(self, reference: str, amount: int, at: dt.datetime) -> None:
        self.paid_at, self.payment_reference = at, reference
        self.history.append(("confirmed", at, f"fee paid, billing code {self.billing_code}"))

    @event("Voided")
    def _voided(
        self,
        office: str,
        day: dt.date,
        session: str,
        reason: str,
        at: dt.datetime,
        correlation_id: str,
        holder: str = "",  # as for `_cancelled`
    ) -> None:
        self.status, self.reason = "voided", "not_paid_in_time"
        self.history.append(("voided", at, f"fee not paid by {self.pay_by:%Y-%m-%d %H:%M} UTC"))
