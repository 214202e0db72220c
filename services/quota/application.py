"""The quota application: decides whole batches of requests, one atomic save per batch."""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import logging
from collections.abc import Callable, Sequence
from typing import Any
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.persistence import IntegrityError, JSONTranscoder, Transcoding

from shared import clock
from shared.events import DEFAULT_PARTITIONS, BookingCancelled, BookingRequested, Message, SessionAvailability, Slot
from shared.offices import Office, UnknownOffice, office_by_code
from shared.release import ReleaseSchedule
from shared.runtime.store import FAST_CACHE, RecordingApplication, cached, evict, register_date
from shared.sessions import SESSIONS

from .domain import OFFICE_CLOSED, UNKNOWN_OFFICE, Request, SessionQuota, compact
from .draws import DrawDesk, DrawRound, waiting
from .fence import Partition
from .fencing import Ownership
from .holders import Holders
from .holds import note_waitlists
from .rejections import RELEASED, Rejections, Releases
from .waitlist import DEFAULT_HOLD

log = logging.getLogger(__name__)
DEDUPE_HORIZON = dt.timedelta(minutes=15)  # the default of PASPOR_QUOTA_DEDUPE_HORIZON_SECONDS
SNAPSHOT_EVERY = 100  # the default of PASPOR_QUOTA_SNAPSHOT_INTERVAL

Clock = Callable[[], dt.datetime]


class QuotaApplication(RecordingApplication):
    """Per-(office, date, session) quota aggregates in one event store."""

    name = "quota"
    env = dict(FAST_CACHE)
    hold = DEFAULT_HOLD  # how long a waitlist offer is held (PASPOR_QUOTA_HOLD_SECONDS)

    def __init__(
        self,
        env: dict[str, str] | None = None,
        schedule: ReleaseSchedule | None = None,
        horizon: dt.timedelta | None = DEDUPE_HORIZON,
        snapshot_every: int = SNAPSHOT_EVERY,
        draws: DrawDesk | None = None,
    ):
        """`horizon`: how long a session remembers the ids it refused (None: for ever);
        `snapshot_every`: events between a session's snapshots (0: none); `draws`: release draws (None: none)."""
        self.snapshot_every = {SessionQuota: snapshot_every} if snapshot_every else {}
        super().__init__({"IS_SNAPSHOTTING_ENABLED": "y" if snapshot_every else "n", **(env or {})})
        self.schedule = schedule or ReleaseSchedule()
        self.horizon = horizon
        # Which partitions it may decide, the fence of each save (services/quota/fencing.py); main.py
        # replaces it with the worker's own (its partitions, leases enforced).
        self.ownership = Ownership(self, DEFAULT_PARTITIONS, enforced=False)
        self.holding: set[UUID] = set()  # sessions with someone waiting or holding an offer (holds.py)
        self.draws = draws

    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        super().register_transcodings(transcoder)
        register_date(transcoder)
        # A session's snapshot: its holders and refusals in their packed forms.
        transcoder.register(HoldersAsState())
        transcoder.register(RejectionsAsState())
        transcoder.register(ReleasesAsState())
        transcoder.register(IntSetAsList())  # the released ids of snapshots taken before `Releases`

    def compact(self, now: dt.datetime) -> int:
        """Forget, in every cached session, the refused and released ids older than the horizon; how many.

        Run now and then on the writer (services/quota/main.py): a session a rush sold out may not be
        asked again, and would keep its refusals otherwise. A session that forgot some is snapshotted
        again, so that a restart loads it as small as it is now.
        """
        if self.horizon is None:
            return 0
        forgotten, smaller = 0, []
        for quota in cached(self):
            if isinstance(quota, SessionQuota) and not quota.pending_events:
                if n := quota.forget_rejections(now, self.horizon):
                    forgotten += n
                    smaller.append(SessionQuota.Snapshot.take(quota))
        if smaller and self.snapshots is not None:
            try:
                self.snapshots.put(smaller)
            except IntegrityError:  # one already snapshotted at its version keeps that one: the others one by one
                for snapshot in smaller:
                    with contextlib.suppress(IntegrityError):
                        self.snapshots.put([snapshot])
        return forgotten

    def stored_decisions(self, quota_id: UUID, booking_ids: set[str]) -> dict[str, str]:
        """What a session's stored events decided for `booking_ids` that it no longer holds or awaits: a
        refusal's reason, or `RELEASED` for one that had a place (or a place on the waitlist) and gave it
        up. Every decision is kept in the store; asked only for ids the session may have forgotten."""
        found: dict[str, str] = {}
        for event in self.repository.event_store.get(quota_id):
            if isinstance(event, SessionQuota.Decided):
                for d in event.decisions:
                    if d["booking_id"] in booking_ids:
                        found.setdefault(d["booking_id"], d["reason"] if d["queue_number"] is None else RELEASED)
            elif isinstance(event, SessionQuota.Waitlisted):
                for entry in event.entries:
                    if entry["booking_id"] in booking_ids:
                        found.setdefault(entry["booking_id"], RELEASED)
        return found

    def apply_batch(self, messages: Sequence[Message], now: dt.datetime) -> list[SessionQuota]:
        """Decide requests and release cancellations, in order; save all changes at once.

        Returns every session the batch touched (changed or not), for the read model.
        """
        batch = _Batch(self, now)
        for message in messages:
            if isinstance(message, BookingRequested):
                batch.request(message)
            elif isinstance(message, BookingCancelled):
                batch.cancel(message)
        return self._finish(batch)

    def tick(self, now: dt.datetime, offices: Sequence[str]) -> list[SessionQuota]:
        """The release draws' clock: commit the draws due before their window, close those whose window is over."""
        batch = _Batch(self, now)
        if batch.round is not None:
            batch.round.tick(offices, batch)
        return self._finish(batch)

    def _finish(self, batch: _Batch) -> list[SessionQuota]:
        """Save what the batch changed at once (sessions and draws); the sessions it touched."""
        changed: list[Any] = batch.flush()
        if batch.round is not None:
            changed = [*batch.round.flush(), *changed]
        self._save(changed)
        if batch.round is not None:
            batch.round.saved()
        return list(batch.quotas.values())

    def change_capacity(
        self, office_code: str, day: dt.date, sessions: Sequence[str], capacity: int, by: str
    ) -> list[SessionQuota]:
        """Set the capacity of sessions (opening them if needed); one save."""

        def change(quota: SessionQuota) -> None:  # a place raised is offered to the first one waiting
            quota.change_capacity(capacity, by)
            quota.settle(clock.now(), self.hold)

        return self._each(office_code, day, sessions, change)

    def close_sessions(
        self, office_code: str, day: dt.date, sessions: Sequence[str], reason: str, by: str
    ) -> list[SessionQuota]:
        """Close sessions; their reservations are withdrawn (the bookings are told); one save."""

        def close(quota: SessionQuota) -> None:  # its waitlist is refused with it
            quota.close(reason, by, clock.now())
            quota.turn_away(OFFICE_CLOSED, clock.now())

        return self._each(office_code, day, sessions, close)

    def _each(
        self, office_code: str, day: dt.date, sessions: Sequence[str], change: Callable[[SessionQuota], object]
    ) -> list[SessionQuota]:
        """One operator change to each session (opened if needed), all in one save."""
        quotas = [self._get_or_open(office_code, day, s) for s in sessions]
        for quota in quotas:
            change(quota)
        self._save(quotas)
        return quotas

    def _get_or_open(self, office_code: str, day: dt.date, session: str) -> SessionQuota:
        office = office_by_code(office_code)
        return self.quota(office, day, session) or SessionQuota(office.code, day, session, office.capacity_per_session)

    def _save(self, changed: Sequence[Any]) -> None:
        fences: list[Partition] = []
        try:
            fences = self.ownership.fences_for(changed)  # NotOwner/Fenced: a partition it may not decide
            if not changed and not fences:  # a batch of requests decided before (their JetStream copies)
                return
            self.save(*changed, *fences)
            note_waitlists(self.holding, changed)
        except BaseException:
            # Another writer raced (IntegrityError: a newer owner's fence, or misassigned partitions) or
            # the store failed: the cached aggregates are ahead of the store, so reload them next time.
            self.forget(changed)
            self.ownership.failed(fences)
            raise

    def forget(self, quotas: Sequence[Any]) -> None:
        """Drop cached aggregates whose in-memory state may be ahead of the store."""
        evict(self, (quota.id for quota in quotas))

    def decided_before(self, message: Message) -> bool:
        """A request its (cached) session has decided already: the JetStream copy of a fast-path request.

        Only the cache is asked (safe from the event loop: it never reads the store); a session not
        in it, or a refusal it forgot (older than the horizon), answers False, and the request takes
        the normal way, where the store is asked and it changes nothing anyway.
        """
        if not isinstance(message, BookingRequested) or self.repository.cache is None:
            return False
        slot = message.slot
        try:
            quota = self.repository.cache.get(SessionQuota.id_for(slot.office, slot.date, slot.session.value))
        except KeyError:
            return False
        return isinstance(quota, SessionQuota) and quota.has_decided(str(message.booking_id))

    def waiting(self, message: BookingRequested) -> dt.datetime | None:
        """When the draw a request waits in closes (None: it is not waiting for a draw)."""
        return waiting(self.repository, message) if self.draws else None

    def session_of(self, slot: Slot) -> SessionQuota:
        """The session a request was decided in (it exists once a batch decided the request)."""
        return self.repository.get(SessionQuota.id_for(slot.office, slot.date, slot.session.value))

    def quota(self, office: Office, day: dt.date, session: str) -> SessionQuota | None:
        try:
            return self.repository.get(SessionQuota.id_for(office.code, day, session))
        except AggregateNotFoundError:
            return None

    def refusal(self, office: Office, day: dt.date, now: dt.datetime) -> str | None:
        return self.schedule.refusal_at(day, now, office.timezone)

    def availability(
        self, office_code: str, start: dt.date, end: dt.date, now: dt.datetime
    ) -> list[SessionAvailability]:
        """Capacity, booked and remaining per date and session."""
        office = office_by_code(office_code)
        days = (start + dt.timedelta(days=i) for i in range((end - start).days + 1))
        return [self._session_availability(office, day, s, now) for day in days for s in SESSIONS]

    def _session_availability(
        self, office: Office, day: dt.date, session: str, now: dt.datetime
    ) -> SessionAvailability:
        quota = self.quota(office, day, session)
        capacity = quota.capacity if quota else office.capacity_per_session
        booked = quota.booked if quota else 0
        reason = self.refusal(office, day, now) or ("office_closed" if quota and quota.closed else None)
        remaining = 0 if reason else max(capacity - booked, 0)
        return SessionAvailability(
            date=day,
            session=session,
            capacity=capacity,
            booked=booked,
            remaining=remaining,
            open=reason is None and remaining > 0,
            reason=reason or (None if remaining else "sold_out"),
        )


class _Batch:
    """Groups a batch's requests per session so that each session records one event."""

    def __init__(self, app: QuotaApplication, now: dt.datetime):
        self.app, self.now = app, now
        self.quotas: dict[UUID, SessionQuota] = {}
        self.pending: dict[UUID, list[Request]] = {}
        self.refusals: dict[UUID, str | None] = {}
        self.ids: dict[tuple[str, dt.date, str], UUID] = {}  # one id and one refusal per session per batch
        self.round: DrawRound | None = app.draws.round(app.repository, now) if app.draws else None

    def request(self, message: BookingRequested) -> None:
        if self.round is not None and self.round.takes(message, self):
            return  # it waits for its date's draw
        slot = message.slot
        key = (slot.office, slot.date, slot.session.value)
        quota_id = self.ids.get(key) or self._open(*key)
        self.pending.setdefault(quota_id, []).append(
            Request(str(message.booking_id), str(message.correlation_id), str(message.message_id), message.waitlist)
        )

    def _open(self, office_code: str, day: dt.date, session: str) -> UUID:
        try:
            office = office_by_code(office_code)
            capacity, refusal = office.capacity_per_session, self.app.refusal(office, day, self.now)
        except UnknownOffice:
            capacity, refusal = 0, UNKNOWN_OFFICE
        quota = self._quota(office_code, day, session, capacity)
        self.ids[(office_code, day, session)], self.refusals[quota.id] = quota.id, refusal
        return quota.id

    def cancel(self, message: BookingCancelled) -> None:
        slot = message.slot
        quota_id = SessionQuota.id_for(slot.office, slot.date, slot.session.value)
        self._decide(quota_id)  # requests before the cancellation come first
        quota = self.quotas.get(quota_id) or self._load(quota_id)
        booking_id = str(message.booking_id)
        if quota is not None and (compact(booking_id) in quota.released or quota.rejection(booking_id)):
            return  # released before (a copy, or a closure), or refused: it never held a slot
        stale = compact(booking_id) not in quota.reservations and not quota.is_waiting(booking_id) if quota else False
        if quota is not None and not quota.pending_events and stale:
            quota = self._reread(quota_id)  # a stale cache must not drop a cancellation: the store decides
        if quota is not None and (
            quota.release(booking_id, str(message.correlation_id), str(message.message_id), self.now)
            or quota.leave(booking_id, self.now)
        ):
            quota.settle(self.now, self.app.hold)  # the freed place goes to the next one waiting, held
            self.quotas[quota_id] = quota
        elif self.round is not None and self.round.leave(message):
            pass  # cancelled while it waited for a draw: it left the waiting room
        elif quota is None or not (quota.has_decided(booking_id) or self._decided_long_ago(quota, booking_id)):
            self.app.ownership.nothing_released(message)  # recorded, never a silent no-op

    def _decided_long_ago(self, quota: SessionQuota, booking_id: str) -> bool:
        """A refusal or release the session forgot (older than the horizon): its stored events say so."""
        return quota.may_have_forgotten(booking_id) and booking_id in self.app.stored_decisions(quota.id, {booking_id})

    def room(self, office: str, day: dt.date, session: str) -> int:
        """Places a session has left for a draw's offers (its requests so far decided first)."""
        quota_id = self.ids.get((office, day, session)) or self._open(office, day, session)
        self._decide(quota_id)
        return 0 if self.refusals[quota_id] else self.quotas[quota_id].remaining

    def offer(self, office: str, day: dt.date, session: str, request: Request) -> None:
        """A draw's offer, decided in this batch like any request, after those before it."""
        quota_id = self.ids.get((office, day, session)) or self._open(office, day, session)
        self.pending.setdefault(quota_id, []).append(request)

    def flush(self) -> list[SessionQuota]:
        for quota_id in list(self.pending):
            self._decide(quota_id)
        return [q for q in self.quotas.values() if q.pending_events]

    def _decide(self, quota_id: UUID) -> None:
        if quota_id not in self.pending:
            return
        quota, requests = self.quotas[quota_id], self.pending.pop(quota_id)
        if self.app.horizon is not None:
            quota.forget_rejections(self.now, self.app.horizon)
        quota.settle(self.now, self.app.hold)  # holds past their deadline lapse before anything is decided
        self._recall(quota, requests)
        quota.decide(requests, self.refusals[quota_id], self.now)

    def _recall(self, quota: SessionQuota, requests: list[Request]) -> None:
        """Requests that may have been refused or released before the session forgot it: the store answers."""
        doubtful = {r.booking_id for r in requests if quota.may_have_forgotten(r.booking_id)}
        if doubtful:
            found = self.app.stored_decisions(quota.id, doubtful)
            for booking_id, reason in found.items():
                quota.recall(booking_id, reason, self.now)
            log.info("quota: %d request(s) looked up in the store, %d decided before", len(doubtful), len(found))

    def _quota(self, office: str, day: dt.date, session: str, capacity: int) -> SessionQuota:
        quota_id = SessionQuota.id_for(office, day, session)
        if quota_id not in self.quotas:
            self.quotas[quota_id] = self._load(quota_id) or SessionQuota(office, day, session, capacity)
        return self.quotas[quota_id]

    def _reread(self, quota_id: UUID) -> SessionQuota | None:
        """The session as the store holds it (not as this worker's cache remembers it)."""
        evict(self.app, [quota_id])
        self.quotas.pop(quota_id, None)
        quota = self._load(quota_id)
        if quota is not None and quota_id in self.refusals:
            self.quotas[quota_id] = quota  # the batch goes on deciding with what the store holds
        return quota

    def _load(self, quota_id: UUID) -> SessionQuota | None:
        try:
            return self.app.repository.get(quota_id)
        except AggregateNotFoundError:
            return None


class HoldersAsState(Transcoding):
    """A session's holders in a snapshot: the packed ids and their queue numbers, as base64."""

    type = Holders
    name = "quota_holders"

    def encode(self, obj: Holders) -> list[str]:
        ids, numbers = obj.packed()
        return [base64.b64encode(ids).decode(), base64.b64encode(numbers).decode()]

    def decode(self, data: list[str]) -> Holders:
        return Holders.unpacked(base64.b64decode(data[0]), base64.b64decode(data[1]))


class RejectionsAsState(Transcoding):
    """A session's refusals in a snapshot: the count, and the remembered ids packed."""

    type = Rejections
    name = "quota_rejections"

    def encode(self, obj: Rejections) -> dict[str, object]:
        return obj.to_state()

    def decode(self, data: dict) -> Rejections:
        return self.type.from_state(data)


class ReleasesAsState(RejectionsAsState):
    """A session's released ids in a snapshot: the count, the remembered ids and the fingerprints packed."""

    type = Releases
    name = "quota_releases"


class IntSetAsList(Transcoding):
    """The ids of released bookings (a set of 128-bit ints) in a snapshot."""

    type = set
    name = "int_set"

    def encode(self, obj: set[int]) -> list[str]:
        return [f"{key:032x}" for key in sorted(obj)]

    def decode(self, data: list[str]) -> set[int]:
        return {int(key, 16) for key in data}
