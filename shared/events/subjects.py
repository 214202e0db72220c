"""Subjects and JetStream streams, declared once, as data.

Events are partitioned by office: ``paspor.<context>.p<NN>.<verb>``. Each partition is
consumed in order by one quota worker, so one office's sessions always have one writer.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

from .booking import (
    BookingCancelled,
    BookingCheckedIn,
    BookingConfirmed,
    BookingNoShow,
    BookingRejected,
    BookingRequested,
)
from .envelope import Message
from .quota import SlotRejected, SlotReleased, SlotReserved, SlotsDecided, SlotWithdrawn
from .tickets import TicketIssued
from .waitlist import BookingOffered, BookingWaitlisted, SlotOffered, SlotWaitlisted

DEFAULT_PARTITIONS = 8

VERBS: dict[type[Message], tuple[str, str]] = {
    BookingRequested: ("booking", "requested"),
    BookingConfirmed: ("booking", "confirmed"),
    BookingRejected: ("booking", "rejected"),
    BookingCancelled: ("booking", "cancelled"),
    BookingCheckedIn: ("ticket", "checked_in"),
    BookingNoShow: ("ticket", "no_show"),
    SlotsDecided: ("quota", "decided"),
    SlotReserved: ("quota", "reserved"),
    SlotRejected: ("quota", "rejected"),
    SlotReleased: ("quota", "released"),
    SlotWithdrawn: ("quota", "withdrawn"),
    TicketIssued: ("ticket", "issued"),
    SlotWaitlisted: ("quota", "waitlisted"),
    SlotOffered: ("quota", "offered"),
    BookingWaitlisted: ("booking", "waitlisted"),
    BookingOffered: ("booking", "offered"),
}


class Commands:
    """Request/reply subjects (core NATS, served by a queue group of each service)."""

    REQUEST_BOOKING = "paspor.cmd.booking.request"
    CANCEL_BOOKING = "paspor.cmd.booking.cancel"
    RESCHEDULE_BOOKING = "paspor.cmd.booking.reschedule"
    GET_BOOKING = "paspor.cmd.booking.get"
    LIST_BOOKINGS = "paspor.cmd.booking.list"
    GET_PROFILE = "paspor.cmd.booking.profile.get"
    UPDATE_PROFILE = "paspor.cmd.booking.profile.update"
    GET_TERMS = "paspor.cmd.booking.terms.get"
    ACCEPT_TERMS = "paspor.cmd.booking.terms.accept"
    GET_REGISTRATIONS = "paspor.cmd.booking.registrations"
    RECORD_PAYMENT = "paspor.cmd.booking.payment"  # the gateway, once the provider's signature checked out
    MOVE_DEVICE = "paspor.cmd.booking.device.move"
    GET_CALENDAR = "paspor.cmd.quota.calendar"
    # Operator commands go to the one worker that owns the office's partition (single writer).
    CHANGE_CAPACITY = "paspor.cmd.quota.p{partition:02d}.capacity"
    CLOSE_SESSIONS = "paspor.cmd.quota.p{partition:02d}.close"
    # The fast path: the booking service asks the partition's worker to decide one request now.
    DECIDE_BOOKING = "paspor.cmd.quota.p{partition:02d}.decide"
    REBUILD_AVAILABILITY = "paspor.cmd.quota.p{partition:02d}.rebuild"
    REBUILD_OUTCOMES = "paspor.cmd.quota.p{partition:02d}.republish"
    # Waitlist: the citizen accepts an offer (to booking), which asks the partition's worker (only booking may).
    ACCEPT_OFFER = "paspor.cmd.booking.offer.accept"
    ACCEPT_HOLD = "paspor.cmd.quota.p{partition:02d}.accept"

    @staticmethod
    def for_office(template: str, office: str, partitions: int = DEFAULT_PARTITIONS) -> str:
        """A partitioned command subject for an office."""
        return template.format(partition=partition_of(office, partitions))

    GET_TICKET = "paspor.cmd.ticket.get"
    CHECK_IN = "paspor.cmd.ticket.checkin"
    OFFICE_DAY = "paspor.cmd.ticket.day"  # an office's tickets for a date (its check-in desk's list)


def partition_of(office: str, partitions: int = DEFAULT_PARTITIONS) -> int:
    """The partition an office's events travel on (stable across processes and runs)."""
    if partitions < 1:
        raise ValueError("partitions must be at least 1")
    return zlib.crc32(office.encode()) % partitions


def subject_for(message: Message, office: str, partitions: int = DEFAULT_PARTITIONS) -> str:
    """The subject an event is published on."""
    context, verb = VERBS[type(message)]
    return f"paspor.{context}.p{partition_of(office, partitions):02d}.{verb}"


def partition_subject(context: str, partition: int | str, verb: str) -> str:
    """A subject (or filter, with '*') for one partition and verb."""
    token = partition if isinstance(partition, str) else f"p{partition:02d}"
    return f"paspor.{context}.{token}.{verb}"


DEAD_LETTER_SUBJECT = "paspor.deadletter.{service}"  # where a service parks a message it cannot handle


DUPLICATE_WINDOW_SECONDS = 120  # a message id sent again within it is dropped (the relay's re-sends)


@dataclass(frozen=True)
class StreamSpec:
    """A JetStream stream the system needs."""

    name: str
    subjects: tuple[str, ...]
    description: str
    duplicate_window_seconds: int = DUPLICATE_WINDOW_SECONDS


STREAM_MAX_AGE_DAYS = 400  # the default of PASPOR_STREAM_MAX_AGE_DAYS: a season and its audits
STREAMS: tuple[StreamSpec, ...] = (
    StreamSpec("PASPOR_BOOKING", ("paspor.booking.>",), "Booking lifecycle events"),
    StreamSpec("PASPOR_QUOTA", ("paspor.quota.>",), "Quota decisions"),
    StreamSpec("PASPOR_TICKET", ("paspor.ticket.>",), "Issued tickets"),
    StreamSpec("PASPOR_DEADLETTER", (DEAD_LETTER_SUBJECT.format(service=">"),), "Messages that could not be handled"),
)
