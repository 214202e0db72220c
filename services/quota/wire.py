"""Stored quota events as wire messages (published by the outbox relay)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any
from uuid import UUID

from shared.events import (
    BookingRequested,
    Decision,
    Message,
    Slot,
    SlotRejected,
    SlotReleased,
    SlotReserved,
    SlotsDecided,
    SlotWithdrawn,
    derived_id,
    subject_for,
)

from .domain import SessionQuota
from .waitlist_wire import waitlist_messages


def to_wire(event: Any, partitions: int) -> Iterable[tuple[str, Message]]:
    """The wire messages of one stored quota event (Opened and CapacityChanged stay inside)."""
    if isinstance(event, SessionQuota.Decided):
        messages: Iterable[Message] = [_decided(event)]
    elif isinstance(event, SessionQuota.Released):
        messages = [
            SlotReleased(
                message_id=_id(event.booking_id, "released"),
                occurred_at=event.timestamp,
                correlation_id=event.correlation_id,
                causation_id=event.causation_id,
                booking_id=event.booking_id,
                slot=_slot(event),
                remaining=event.remaining,
            )
        ]
    elif isinstance(event, SessionQuota.Closed):
        messages = (
            SlotWithdrawn(
                message_id=_id(booking_id, "withdrawn"),
                occurred_at=event.timestamp,
                booking_id=booking_id,
                slot=_slot(event),
                reason=event.reason,
            )
            for booking_id in event.withdrawn
        )
    else:
        messages = waitlist_messages(event)
    for message in messages:
        yield subject_for(message, event.office, partitions), message


def decision_of(quota: SessionQuota, request: BookingRequested, at: dt.datetime) -> SlotReserved | SlotRejected:
    """The decision a session holds for a booking, as the relay will publish it later (same message id)."""
    booking_id = str(request.booking_id)
    number = quota.queue_number(booking_id)
    reason = quota.rejection(booking_id) if number is None else None
    if number is None and reason is None:
        raise LookupError(f"booking {booking_id} has no decision in {quota.office} {quota.day} {quota.session}")
    decision = Decision(
        booking_id=request.booking_id,
        queue_number=number,
        reason=reason,
        remaining=quota.remaining,
        correlation_id=request.correlation_id,
        causation_id=request.message_id,
    )
    return SlotsDecided(occurred_at=at, slot=request.slot, decisions=[decision]).expand()[0]


def _decided(event: Any) -> SlotsDecided:
    """One message for the whole batch of one session: its id is the stored event's identity."""
    return SlotsDecided(
        message_id=derived_id("quota", event.originator_id, event.originator_version, "decided"),
        occurred_at=event.timestamp,
        slot=_slot(event),
        decisions=[
            Decision(
                booking_id=d["booking_id"],
                queue_number=d["queue_number"],
                reason=d["reason"],
                remaining=d["remaining"],
                correlation_id=d["correlation_id"],
                causation_id=d["causation_id"],
            )
            for d in event.decisions
        ],
    )


def _slot(event: Any) -> Slot:
    return Slot(office=event.office, date=event.day, session=event.session)


def _id(booking_id: str, outcome: str) -> UUID:
    return derived_id("quota", booking_id, outcome)
