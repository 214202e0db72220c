"""Stored waitlist events as wire messages (published by the outbox relay with the session's other events)."""

from __future__ import annotations

from typing import Any

from shared.events import Decision, Message, RejectionReason, Slot, SlotsDecided, derived_id
from shared.events.waitlist import SlotOffered, SlotWaitlisted

from .waitlist import Waitlist


def waitlist_messages(event: Any) -> list[Message]:
    """Waitlisted: one SlotWaitlisted per booking; HoldOffered: SlotOffered; accepted, lapsed or turned away:
    the booking's decision (a SlotsDecided, as any decision); LeftWaitlist stays inside (the booking was
    cancelled already). Any other event (a session's own, a release draw's, a partition's fence): none."""
    told = (Waitlist.Waitlisted, Waitlist.HoldOffered, Waitlist.HoldAccepted, Waitlist.HoldLapsed, Waitlist.Unlisted)
    if not isinstance(event, told):
        return []
    slot = Slot(office=event.office, date=event.day, session=event.session)
    if isinstance(event, Waitlist.Waitlisted):
        return [
            SlotWaitlisted(
                message_id=waitlisted_id(e["booking_id"]),
                occurred_at=event.timestamp,
                correlation_id=e["correlation_id"],
                causation_id=e["causation_id"],
                booking_id=e["booking_id"],
                slot=slot,
            )
            for e in event.entries
        ]
    if isinstance(event, Waitlist.HoldOffered):
        return [
            SlotOffered(
                message_id=derived_id("quota", event.booking_id, "offered"),
                occurred_at=event.timestamp,
                correlation_id=event.correlation_id,
                causation_id=event.causation_id,
                booking_id=event.booking_id,
                slot=slot,
                queue_number=event.queue_number,
                hold_until=event.deadline,
            )
        ]
    if isinstance(event, (Waitlist.HoldAccepted, Waitlist.HoldLapsed)):
        accepted = isinstance(event, Waitlist.HoldAccepted)
        number, reason = (event.queue_number, None) if accepted else (None, RejectionReason.HOLD_LAPSED)
        return [_decided(event, slot, [_decision(event.booking_id, event.correlation_id, number, reason)])]
    if isinstance(event, Waitlist.Unlisted):
        reason = RejectionReason(event.reason)
        return [
            _decided(
                event, slot, [_decision(e["booking_id"], e["correlation_id"], None, reason) for e in event.entries]
            )
        ]
    return []


def _decision(booking_id: str, correlation_id: str, number: int | None, reason: RejectionReason | None) -> Decision:
    return Decision(
        booking_id=booking_id,
        queue_number=number,
        reason=reason,
        remaining=0,
        correlation_id=correlation_id,
        causation_id=waitlisted_id(booking_id),
    )


def waitlisted_id(booking_id: str) -> Any:
    """The id of a booking's SlotWaitlisted message: what its hold's outcome was caused by."""
    return derived_id("quota", booking_id, "waitlisted")


def _decided(event: Any, slot: Slot, decisions: list[Decision]) -> SlotsDecided:
    return SlotsDecided(
        message_id=derived_id("quota", event.originator_id, event.originator_version, "decided"),
        occurred_at=event.timestamp,
        slot=slot,
        decisions=decisions,
    )
