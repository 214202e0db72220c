"""Replays the booking store: every booking's life, every account's registrations, every NIK's bookings."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Protocol

from shared.privacy import mask_number

from .findings import AuditResult
from .records import Record, ident, plain
from .scope import Scope

WAITING = ("waitlisted", "offered")  # a booking on its session's waitlist: upcoming, not decided yet
UPCOMING = ("requested", *WAITING, "confirmed")
IGNORED = frozenset(
    {
        "Account.Registered",
        "Account.DeviceBound",
        "Account.TermsAccepted",
        "Account.ProfileUpdated",
        "DeviceBinding.Bound",
        "DeviceBinding.Revoked",
        "DeviceBinding.Reinstated",
        "NikClaim.Opened",
        "NikClaim.Claimed",
        "NikClaim.Freed",
        "IdentityKeyInUse.Recorded",
        "IdentityKeyInUse.Rotated",
        "MoveLink.Linked",
    }
)
# A reschedule's steps (services/booking/moves.py): the new slot is held under the move's own id.
MOVES = frozenset(
    {"MovingBooking.MoveRequested", "MovingBooking.Moved", "MovingBooking.MoveRefused", "MovingBooking.MoveAbandoned"}
)


class AccountRules(Protocol):
    """The rulebook's numbers the account checks need (the booking service's `Rules` has them)."""

    @property
    def max_registrations(self) -> int: ...
    @property
    def spacing_days(self) -> int: ...
    @property
    def cooldown_days(self) -> int: ...
    @property
    def device_move_days(self) -> int: ...


@dataclass
class BookingTrail:
    """One booking as rebuilt from its events."""

    account_id: str
    office: str
    day: object
    session: str
    niks: list[str]
    requested: Record
    status: str = "requested"
    confirmed: Record | None = None
    cancelled: Record | None = None
    ended: Record | None = None  # rejected, withdrawn, checked in or missed

    @property
    def slot(self) -> tuple[str, str, str]:
        return self.office, str(self.day), self.session


@dataclass
class AccountTrail:
    """What the account rules need: counted registrations, the upcoming one, the cooldown."""

    registrations: dict[str, dt.datetime] = field(default_factory=dict)
    active: str | None = None
    cooldown_until: dt.datetime | None = None


class BookingLedger:
    """Bookings, accounts and NIKs; checks the account rules and the anti-broker rule as it goes."""

    kinds = (
        frozenset(
            {
                "Booking.Requested",
                "Booking.Confirmed",
                "Booking.Rejected",
                "Booking.Withdrawn",
                "Booking.Cancelled",
                "Booking.Attended",
                "WaitingBooking.Waitlisted",
                "WaitingBooking.Offered",
                "Account.RegistrationStarted",
                "Account.RegistrationReturned",
                "Account.RegistrationCancelled",
                "Account.RegistrationEnded",
                "Account.DeviceMoved",
            }
        )
        | IGNORED
        | MOVES
    )

    def __init__(self, result: AuditResult, scope: Scope, rules: AccountRules) -> None:
        self.result, self.scope, self.rules = result, scope, rules
        self.bookings: dict[str, BookingTrail] = {}
        self.accounts: dict[str, AccountTrail] = {}
        self.nik_holder: dict[str, str] = {}  # NIK -> the last booking that named it
        self.last_move: dict[str, dt.datetime] = {}  # account -> when it last moved to a new device
        self.devices_of: dict[str, set[object]] = {}  # account -> the devices it moved from or to
        self.moving: dict[str, str] = {}  # a booking -> its move's id, once a move was requested
        self.moved: dict[str, str] = {}  # a rescheduled booking -> its move's id, where its later life goes on

    def apply(self, record: Record) -> None:
        kind = record.kind
        if kind in IGNORED:
            return
        if kind in MOVES:
            self._move(kind, record)
        elif kind.startswith(("Booking.", "WaitingBooking.")):
            self._booking(kind, record)
        elif kind.startswith("Account.Registration"):
            self._account(kind, record)
        elif kind == "Account.DeviceMoved":
            self._device_moved(record)

    def _device_moved(self, record: Record) -> None:
        """A recovery step (a new phone): reported, and checked against the rule on how often it may happen."""
        account, state = record.aggregate_id, record.state
        at = plain(state["at"])
        self.result.device_moves.append(
            {
                "account": str(account),
                "from_device": short_device(state.get("from_device")),
                "to_device": short_device(state.get("device_id")),
                "at": at,
                "position": record.position,
            }
        )
        known = self.devices_of.setdefault(account, set())
        known.add(state.get("from_device"))
        if state.get("device_id") in known:
            return  # back to a device the account had: not limited (an owner taking it back from a thief)
        known.add(state.get("device_id"))
        earlier = self.last_move.get(account)
        if earlier is not None and at < earlier + dt.timedelta(days=self.rules.device_move_days):
            self.result.add(
                "device_moved_too_often",
                f"account {account}",
                f"moved to a new device at {at:%Y-%m-%d %H:%M}, {(at - earlier).days} days after the last "
                f"(at most one new device per {self.rules.device_move_days} days)",
                record,
            )
        self.last_move[account] = at

    def _booking(self, kind: str, record: Record) -> None:
        booking_id, state = record.aggregate_id, record.state
        if kind == "Booking.Requested":
            niks = [a["nik"] for a in state["applicants"]]
            requested = BookingTrail(
                plain(state["account_id"]), state["office"], plain(state["day"]), state["session"], niks, record
            )
            self._check_niks(booking_id, requested, record)
            self.bookings[booking_id] = requested
            return
        trail = self.bookings.get(self.moved.get(booking_id, booking_id))
        if trail is None:
            return  # its Requested is missing: reported as a version gap
        if kind.startswith("WaitingBooking."):
            trail.status = "waitlisted" if kind.endswith("Waitlisted") else "offered"
        elif kind == "Booking.Confirmed":
            if trail.status not in ("requested", *WAITING) or trail.confirmed is not None:
                self._report(
                    trail, "confirmed_twice", f"booking {booking_id}", f"confirmed while {trail.status}", record
                )
            trail.status, trail.confirmed = "confirmed", record
            self._confirmed_in(trail, booking_id, record)
        elif kind == "Booking.Cancelled":
            trail.status, trail.cancelled = "cancelled", record
        elif kind in ("Booking.Rejected", "Booking.Withdrawn"):
            trail.status, trail.ended = "rejected", record
        elif kind == "Booking.Attended":
            trail.status, trail.ended = state["status"], record

    def _move(self, kind: str, record: Record) -> None:
        """A move is a booking of its own under the move's id: requested, then confirmed, refused or given back.

        Once moved, the booking's own trail ends as `moved` (its old slot must be released) and the rest
        of its life (cancelled, voided, attended) is the move's.
        """
        booking_id, state = record.aggregate_id, record.state
        trail = self.bookings.get(booking_id)
        if trail is None:
            return  # its Requested is missing: reported as a version gap
        if kind == "MovingBooking.MoveRequested":
            move_id = ident(plain(state["move_id"]))
            self.bookings[move_id] = BookingTrail(
                trail.account_id, state["office"], plain(state["day"]), state["session"], trail.niks, record
            )
            self.moving[booking_id] = move_id
            return
        move_id = self.moving.get(booking_id, "")
        moving = self.bookings.get(move_id)
        if moving is None:
            return
        if kind == "MovingBooking.Moved":
            moving.status, moving.confirmed = "confirmed", record
            trail.status, trail.ended = "moved", record
            self.moved[booking_id] = move_id
            for nik in moving.niks:
                self.nik_holder[nik] = move_id
        elif kind == "MovingBooking.MoveRefused":
            moving.status, moving.ended = "rejected", record
        else:  # MoveAbandoned: the booking ended while it moved; the new slot goes back
            moving.status, moving.cancelled = "cancelled", record

    def _confirmed_in(self, trail: BookingTrail, booking_id: str, record: Record) -> None:
        """A booking is confirmed in the session wanted or, given by a release draw, one of its fallbacks."""
        session = record.state.get("session", trail.session)
        if session == trail.session:
            return
        if session in (trail.requested.state.get("fallbacks") or []):
            trail.session = session  # the quota's reservation and the ticket are checked against it
            return
        self._report(
            trail,
            "confirmed_outside_choices",
            f"booking {booking_id}",
            f"asked for {trail.session}, confirmed in {session}, not one of its fallbacks",
            record,
        )

    def _check_niks(self, booking_id: str, trail: BookingTrail, record: Record) -> None:
        for nik in trail.niks:
            other = self.bookings.get(self.nik_holder.get(nik, ""))
            if other is not None and other.status in UPCOMING:
                self._report(
                    trail,
                    "nik_in_two_upcoming_bookings",
                    f"NIK {mask_number(nik)}",
                    f"in booking {booking_id} while booking {other.requested.aggregate_id} is {other.status}",
                    other.requested,
                    record,
                )
            self.nik_holder[nik] = booking_id

    def _account(self, kind: str, record: Record) -> None:
        account = self.accounts.get(record.aggregate_id)
        if account is None:
            account = self.accounts[record.aggregate_id] = AccountTrail()
        booking_id, state = state_booking(record), record.state
        if kind == "Account.RegistrationStarted":
            self._check_registration(account, record)
            account.registrations[booking_id] = plain(state["at"])
            account.active = booking_id
        elif kind == "Account.RegistrationReturned":
            account.registrations.pop(booking_id, None)
        elif kind == "Account.RegistrationCancelled":
            until = plain(state["at"]) + dt.timedelta(days=self.rules.cooldown_days)
            account.cooldown_until = max(until, account.cooldown_until or until)
        if kind != "Account.RegistrationStarted" and account.active == booking_id:
            account.active = None

    def _check_registration(self, account: AccountTrail, record: Record) -> None:
        at, subject, rules = plain(record.state["at"]), f"account {record.aggregate_id}", self.rules
        if account.active is not None:
            self.result.add("two_active_bookings", subject, f"booking {account.active} was still upcoming", record)
        if len(account.registrations) >= rules.max_registrations:
            self.result.add(
                "registration_limit_exceeded",
                subject,
                f"registration {len(account.registrations) + 1} (limit {rules.max_registrations})",
                record,
            )
        if account.cooldown_until and at < account.cooldown_until:
            self.result.add(
                "cooldown_violated",
                subject,
                f"registered at {at:%Y-%m-%d %H:%M}, cooldown until {account.cooldown_until:%Y-%m-%d %H:%M}",
                record,
            )
        if account.registrations and at < max(account.registrations.values()) + dt.timedelta(days=rules.spacing_days):
            last = max(account.registrations.values())
            self.result.add(
                "spacing_violated",
                subject,
                f"registered at {at:%Y-%m-%d %H:%M}, "
                f"{(at - last).days} days after the last (spacing {rules.spacing_days})",
                record,
            )

    def _report(self, trail: BookingTrail, code: str, subject: str, detail: str, *records: Record) -> None:
        if self.scope.covers(trail.office, trail.day):
            self.result.add(code, subject, detail, *records)

    def in_scope(self) -> list[tuple[str, BookingTrail]]:
        return [(b, t) for b, t in self.bookings.items() if self.scope.covers(t.office, t.day)]


def short_device(device: object) -> str:
    """A device id shortened for a report (a key's thumbprint is no secret, but a whole one is noise)."""
    text = str(device or "")
    return text if len(text) <= 12 else f"{text[:8]}…"


def state_booking(record: Record) -> str:
    return ident(record.state["booking_id"])
