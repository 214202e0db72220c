"""Quota on the wire: booking requests and cancellations in, slot decisions out."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Callable, Iterable
from concurrent.futures import Executor
from typing import Any

from faststream.nats import NatsBroker
from faststream.nats.annotations import NatsMessage
from pydantic import ValidationError

from shared.events import (
    Calendar,
    Commands,
    GetCalendar,
    Message,
    RejectionReason,
    derived_id,
    Slot,
    SlotRejected,
    SlotReleased,
    SlotReserved,
    partition_subject,
    subject_for,
    utcnow,
)
from shared.offices import UnknownOffice
from shared.runtime.consumer import ConsumerSpec
from shared.runtime.replies import invalid

from .application import QuotaApplication
from .domain import SessionQuota

MAX_CALENDAR_DAYS = 92


def consumer_spec(partition: int, batch: int) -> ConsumerSpec:
    """The durable consumer of one partition's requests and cancellations."""
    return ConsumerSpec(
        stream="PASPOR_BOOKING",
        durable=f"quota-p{partition:02d}",
        filter_subjects=[
            partition_subject("booking", partition, "requested"),
            partition_subject("booking", partition, "cancelled"),
        ],
        batch=batch,
    )


def batch_handler(app: QuotaApplication, executor: Executor, on_saved: Callable[[], None], clock: Callable[[], dt.datetime] = utcnow):
    """Decide a batch in the application's writer thread, then wake the relay."""

    async def handle(messages: list[Message]) -> None:
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(executor, app.apply_batch, messages, clock())
        on_saved()

    return handle


def to_wire(event: Any, partitions: int) -> Iterable[tuple[str, Message]]:
    """The wire messages of one stored quota event."""
    if isinstance(event, SessionQuota.Decided):
        for d in event.decisions:
            yield _subject(_decision_message(event, d), event.office, partitions)
    elif isinstance(event, SessionQuota.Released):
        message = SlotReleased(
            message_id=_id(event.booking_id, "released"),
            occurred_at=event.timestamp,
            correlation_id=event.correlation_id,
            causation_id=event.causation_id,
            booking_id=event.booking_id,
            slot=_slot(event),
            remaining=event.remaining,
        )
        yield _subject(message, event.office, partitions)


def _decision_message(event: Any, d: dict[str, Any]) -> Message:
    common = {
        "occurred_at": event.timestamp,
        "correlation_id": d["correlation_id"],
        "causation_id": d["causation_id"],
        "booking_id": d["booking_id"],
        "slot": _slot(event),
    }
    if d["queue_number"] is None:
        return SlotRejected(message_id=_id(d["booking_id"], "rejected"), reason=RejectionReason(d["reason"]), **common)
    return SlotReserved(
        message_id=_id(d["booking_id"], "reserved"), queue_number=d["queue_number"], remaining=d["remaining"], **common
    )


def _slot(event: Any) -> Slot:
    return Slot(office=event.office, date=event.day, session=event.session)


def _id(booking_id: str, outcome: str) -> Any:
    return derived_id("quota", booking_id, outcome)


def _subject(message: Message, office: str, partitions: int) -> tuple[str, Message]:
    return subject_for(message, office, partitions), message


def register_queries(broker: NatsBroker, app: QuotaApplication, executor: Executor) -> None:
    """Answer calendar queries ("data kuota dan pengantri")."""

    @broker.subscriber(Commands.GET_CALENDAR, queue="quota", title="quota.calendar")
    async def calendar(msg: NatsMessage) -> dict:
        try:
            query = GetCalendar.model_validate_json(msg.body)
        except ValidationError as error:
            return {"problem": invalid(error).model_dump(mode="json")}
        if not 0 <= (query.end - query.start).days < MAX_CALENDAR_DAYS:
            return {"problem": _problem("invalid_range", "Rentang tanggal tidak valid (maks. 92 hari).", "Invalid date range (at most 92 days).")}
        loop = asyncio.get_running_loop()
        try:
            sessions = await loop.run_in_executor(executor, app.availability, query.office, query.start, query.end, utcnow())
        except UnknownOffice:
            return {"problem": _problem("unknown_office", f"Kantor {query.office} tidak dikenal.", f"Unknown office {query.office}.")}
        return {"calendar": Calendar(office=query.office, sessions=sessions).model_dump(mode="json")}


def _problem(code: str, message_id: str, message_en: str) -> dict:
    return {"code": code, "message_id": message_id, "message_en": message_en}
