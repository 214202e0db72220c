"""Holds on the quota application: lapsed by the event-sourced clock, accepted on request, found again at start.

No timer in memory decides anything. The worker asks its clock on a tick (`PASPOR_QUOTA_HOLD_TICK_SECONDS`)
and before deciding any message of a session (`_Batch`), and records `HoldLapsed` for every hold whose
deadline it finds reached; a restarted worker finds the sessions with holds in the store's notification
log, so a hold lapses on time however often the worker was killed.

Hook for other ways a place frees up (a payment hold that lapses, say): record the release and call
`SessionQuota.settle(now, app.hold)` in the same save, or `offer_freed` below; the freed place is then
held for the first one waiting, exactly as after a cancellation.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from typing import Any
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.utils import get_topic

from shared.events import Decision, RejectionReason, Slot, SlotRejected, SlotReserved, SlotsDecided

from .domain import SessionQuota
from .waitlist import NoActiveHold, Waitlist
from .waitlist_wire import waitlisted_id

PAGE = 1000


def note_waitlists(holding: set[UUID], quotas: Iterable[Any]) -> None:
    """Keep the set of sessions with someone waiting or holding current, after a save (of sessions, draws)."""
    for quota in quotas:
        if not isinstance(quota, SessionQuota):
            continue  # a release draw, saved with its sessions
        if quota.waiting or quota.holds:
            holding.add(quota.id)
        else:
            holding.discard(quota.id)


def find_waitlists(app: Any) -> set[UUID]:
    """Every session whose stored events ever had a waitlist (read at start, on the writer thread)."""
    topic = get_topic(Waitlist.Waitlisted)
    found: set[UUID] = set()
    start = 1
    while True:
        page = app.recorder.select_notifications(start, PAGE, topics=[topic])
        found.update(n.originator_id for n in page)
        if len(page) < PAGE:
            return found
        start = page[-1].id + 1


def settle_due(app: Any, now: dt.datetime, owned: Callable[[str], bool] = lambda office: True) -> list[SessionQuota]:
    """The tick: in every owned session with a waitlist, lapse the holds due and offer what is free; one save."""
    changed = []
    for quota_id in list(app.holding):
        quota = _load(app, quota_id)
        if quota is None:
            app.holding.discard(quota_id)
        elif owned(quota.office) and quota.settle(now, app.hold):
            changed.append(quota)
    app._save(changed)
    if not changed:  # sessions found at start that hold nothing any more are not looked at again
        note_waitlists(app.holding, [q for i in list(app.holding) if (q := _load(app, i)) is not None])
    return changed


def accept_hold(app: Any, slot: Slot, booking_id: str, now: dt.datetime) -> SlotReserved | SlotRejected:
    """Turn a booking's hold into its reservation if its deadline is not reached; one save; the outcome.

    A hold found past its deadline lapses here (recorded, the place offered on): the outcome is its
    refusal (`hold_lapsed`). A booking that holds nothing raises `NoActiveHold` and changes nothing.
    Either outcome is the message the relay publishes for it (same message id).
    """
    quota = _load(app, SessionQuota.id_for(slot.office, slot.date, slot.session.value))
    hold = quota.holds.get(booking_id) if quota is not None else None
    if quota is None or hold is None:
        raise NoActiveHold(booking_id)
    lapsed = booking_id in quota.expire(now)
    number = None if lapsed else quota.accept(booking_id, now)
    quota.offer_free(now, app.hold)  # what the other lapsed holds freed
    app._save([quota])
    decision = Decision(
        booking_id=UUID(booking_id),
        queue_number=number,
        reason=RejectionReason.HOLD_LAPSED if lapsed else None,
        remaining=quota.remaining,
        correlation_id=hold["correlation_id"],
        causation_id=waitlisted_id(booking_id),
    )
    return SlotsDecided(occurred_at=now, slot=slot, decisions=[decision]).expand()[0]


def offer_freed(app: Any, slot: Slot, now: dt.datetime) -> SessionQuota | None:
    """The hook for a place freed another way (e.g. a lapsed payment): offer it to the first one waiting."""
    quota = _load(app, SessionQuota.id_for(slot.office, slot.date, slot.session.value))
    if quota is not None and quota.settle(now, app.hold):
        app._save([quota])
    return quota


def _load(app: Any, quota_id: UUID) -> SessionQuota | None:
    try:
        return app.repository.get(quota_id)
    except AggregateNotFoundError:
        return None
