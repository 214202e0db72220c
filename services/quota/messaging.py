"""Quota on the wire: requests and cancellations in, decisions out, the availability read model kept."""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import logging
import random
from collections.abc import Callable, Sequence
from concurrent.futures import Executor
from typing import Any

from eventsourcing.persistence import IntegrityError
from faststream.nats import NatsBroker
from nats.js.errors import KeyNotFoundError
from nats.js.kv import KeyValue

from shared.events import (
    AVAILABILITY_BUCKET,
    BookingRequested,
    Calendar,
    ChangeCapacity,
    CloseSessions,
    Commands,
    GetCalendar,
    Message,
    RebuildAvailability,
    SessionRemaining,
    availability_key,
    partition_subject,
    utcnow,
)
from shared.offices import UnknownOffice
from shared.runtime import hops
from shared.runtime.bus import open_bucket
from shared.runtime.consumer import ConsumerSpec
from shared.runtime.faults import CrashPoint
from shared.runtime.lease import LeaseLost
from shared.runtime.replies import problem, serve
from shared.sessions import SESSIONS

from .application import QuotaApplication
from .domain import InvalidCapacity, SessionQuota
from .rebuild import marker_key, sessions_in_store
from .wire import decision_of

MAX_CALENDAR_DAYS = 92
RACE_RETRIES = 8
log = logging.getLogger(__name__)


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


class QuotaWorker:
    """Runs the application's calls in its single writer thread and keeps the read model current."""

    def __init__(
        self,
        app: QuotaApplication,
        writer: Executor,
        on_saved: Callable[[], None],
        clock: Callable[[], dt.datetime] = utcnow,
        crash: CrashPoint | None = None,
        partition_of: Callable[[str], int] = lambda office: 0,
    ) -> None:
        self.app, self.writer, self.on_saved, self.clock = app, writer, on_saved, clock
        self.partition_of = partition_of  # an office's partition (of how many there are)
        self.crash = crash or CrashPoint()  # a test hook: off unless a fault test sets it
        self.availability: KeyValue | None = None
        self._shown: dict[str, SessionRemaining] = {}  # what the read model holds, as this worker wrote it
        # Each batch waiting for the next group commit, with its traced bookings (booking, context, joined).
        self._waiting: list[tuple[list[Message], asyncio.Future[None], list[tuple[str, str, int]]]] = []
        self._committer: asyncio.Future[None] | None = None
        # Whether this worker may decide a partition now (its lease: services/quota/leases.py).
        self.holds: Callable[[int], bool] = lambda partition: True

    async def open_read_model(self, js: Any, partitions: Sequence[int] = ()) -> None:
        """Open the availability bucket; rebuild the partitions whose rebuild is not on record (a wiped store)."""
        self.availability = await open_bucket(js, AVAILABILITY_BUCKET)  # replicated as the streams are
        records = await open_bucket(js, "paspor_relay")
        missing = []
        for partition in partitions:
            try:
                await records.get(marker_key(partition))
            except KeyNotFoundError:
                missing.append(partition)
        if missing:
            count = await self.rebuild_read_model(lambda office: self.partition_of(office) in missing)
            log.info("quota: availability of %d sessions put again (partitions %s had no record)", count, missing)
            for partition in missing:
                await records.put(marker_key(partition), b"1")

    async def rebuild_read_model(self, owned: Callable[[str], bool]) -> int:
        """Put every owned session of the store in the read model again; how many."""
        quotas = await self._write(sessions_in_store, self.app, owned)
        self._shown.clear()
        await self.publish_availability(quotas)
        return len(quotas)

    async def handle_batch(self, messages: list[Message]) -> None:
        """Decide a partition's batch, then let its consumer ack.

        Group commit: batches of several partitions that arrive while a save is running are
        decided together in the next one. Each partition has at most one batch in a group, so
        every partition's order holds, and a rush costs few saves. Requests decided before (on the
        fast path) are acknowledged without a trip to the writer.
        """
        messages = [m for m in messages if not self.app.decided_before(m)]
        if not messages:
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting.append((messages, future, traced(messages)))
        if self._committer is None or self._committer.done():
            self._committer = asyncio.ensure_future(self._commit_waiting())
        await future

    async def _commit_waiting(self) -> None:
        while self._waiting:
            group, self._waiting = self._waiting, []
            spans = hops.group("quota commit", [t for _, _, batch_traced in group for t in batch_traced])
            try:
                await self._decide([m for batch, _, _ in group for m in batch], spans)
            except Exception as error:  # every batch of the group is retried by its consumer
                if spans is not None:
                    spans.end(error)
                for _, future, _ in group:
                    if not future.done():
                        future.set_exception(error)
            else:
                if spans is not None:
                    spans.end()
                for _, future, _ in group:
                    if not future.done():
                        future.set_result(None)

    async def _decide(self, messages: list[Message], spans: hops.Group | None = None) -> None:
        """Decide (one save), publish the read model, then wake the relay.

        A lost race with another writer (only possible when partitions are misassigned) is
        decided again at once from the stored state; the event store refused the stale save.
        """
        for attempt in range(1, RACE_RETRIES + 1):
            try:
                saving: hops.Group | dict[str, str] = spans if spans is not None else {}
                touched = await hops.on_writer(self.writer, self.app.apply_batch, messages, self.clock(), saving=saving)
                break
            except IntegrityError:
                if attempt == RACE_RETRIES:
                    raise
                log.warning("quota: another writer raced on this batch (attempt %d); deciding again", attempt)
                self._shown.clear()  # it may have written the read model too: write it afresh
                await asyncio.sleep(random.uniform(0.005, 0.05 * attempt))
        await self._published(touched)

    async def _write(self, call: Callable[..., Any], *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self.writer, call, *args)

    on_writer = _write  # what the partition leases run on the writer (taking a partition, letting it go)

    def forget_shown(self, partition: int) -> None:
        """Another owner may have written the partition's read model since: write it afresh."""
        self._shown = {k: v for k, v in self._shown.items() if self.partition_of(k.split(".")[0]) != partition}

    async def _published(self, quotas: Sequence[SessionQuota]) -> None:
        """The read model first, then the outcomes: whoever sees an outcome finds the calendar current."""
        await self.publish_availability(quotas)
        self.on_saved()

    async def publish_availability(self, quotas: Sequence[SessionQuota]) -> None:
        """Write the sessions whose figures changed (a sold-out session refusing more stays as it is)."""
        if self.availability is None:
            return
        entries = {availability_key(q.office, q.day, q.session): remaining(q) for q in quotas}
        changed = {key: value for key, value in entries.items() if self._shown.get(key) != value}
        await asyncio.gather(*(self.availability.put(k, v.model_dump_json().encode()) for k, v in changed.items()))
        self._shown.update(changed)

    def register(self, broker: NatsBroker, partitions: Sequence[int], concurrency: int = 1000) -> None:
        """Serve the calendar (any worker), and the fast path and operator commands (the partition's owner)."""
        serve(broker, Commands.GET_CALENDAR, GetCalendar, self._calendar, queue="quota", max_workers=8)
        for partition in partitions:
            # Many decisions at once: that is what lets a group commit group.
            decide = Commands.DECIDE_BOOKING.format(partition=partition)
            serve(
                broker,
                decide,
                BookingRequested,
                self._decide_now,
                queue="quota",
                max_workers=concurrency,
                hop="quota decide",
            )
            capacity = Commands.CHANGE_CAPACITY.format(partition=partition)
            serve(broker, capacity, ChangeCapacity, self._change_capacity, queue="quota")
            serve(
                broker, Commands.CLOSE_SESSIONS.format(partition=partition), CloseSessions, self._close, queue="quota"
            )
            rebuild = functools.partial(self._rebuild, partition)
            serve(
                broker,
                Commands.REBUILD_AVAILABILITY.format(partition=partition),
                RebuildAvailability,
                rebuild,
                queue="quota",
            )

    async def _decide_now(self, request: BookingRequested) -> dict:
        """The fast path: decide one request in the next group commit, then answer with its decision.

        The request also reaches this worker later through JetStream (the booking service's outbox);
        by then it is decided, so that copy changes nothing. An answer that never arrives (a crash, a
        timeout) leaves the decision to that copy: the booking is finished by the pipeline.
        """
        hops.name_booking(request.booking_id)
        if not self.holds(self.partition_of(request.slot.office)):
            return not_owner(self.partition_of(request.slot.office))
        try:
            await self.handle_batch([request])
            if (closes := self.app.waiting(request)) is not None:  # in a waiting room: decided by its draw
                return {"waiting": {"draw_closes_at": closes.isoformat()}}
            self.crash.pass_by()  # decided and stored, not answered yet
            quota = self.app.session_of(request.slot)
            return {"decision": decision_of(quota, request, self.clock()).model_dump(mode="json")}
        except Exception:  # the store failed: logged, and the pipeline decides this request instead
            log.exception("quota: fast-path decision of %s failed; the pipeline will decide it", request.booking_id)
            return problem("not_decided", "Belum diputuskan; lihat lagi nanti.", "Not decided yet; look again later.")

    async def tick(self, offices: Sequence[str]) -> None:
        """The release draws' clock (`QuotaApplication.tick`), on the writer; the read model and relay follow."""
        quotas = await self._write(self.app.tick, self.clock(), offices)
        if quotas:  # a draw was made (its offers decided): the read model, then the relay; else nothing to tell
            await self._published(quotas)

    async def _calendar(self, query: GetCalendar) -> dict:
        if not 0 <= (query.end - query.start).days < MAX_CALENDAR_DAYS:
            return problem(
                "invalid_range", "Rentang tanggal tidak valid (maks. 92 hari).", "Invalid date range (at most 92 days)."
            )
        try:
            sessions = await asyncio.get_running_loop().run_in_executor(
                self.writer, self.app.availability, query.office, query.start, query.end, self.clock()
            )
        except UnknownOffice:
            return _unknown_office(query.office)
        return {"calendar": Calendar(office=query.office, sessions=sessions).model_dump(mode="json")}

    async def _rebuild(self, partition: int, command: RebuildAvailability) -> dict:
        if not self.holds(partition):
            return not_owner(partition)
        log.info("quota: rebuilding the availability of partition %d, asked by %s", partition, command.operator)
        count = await self.rebuild_read_model(lambda office: self.partition_of(office) == partition)
        return {"rebuilt": {"partition": partition, "sessions": count}}

    async def _change_capacity(self, command: ChangeCapacity) -> dict:
        sessions, capacity = _sessions(command), command.capacity
        return await self._operate(
            self.app.change_capacity, command.office, command.date, sessions, capacity, command.operator
        )

    async def _close(self, command: CloseSessions) -> dict:
        return await self._operate(
            self.app.close_sessions, command.office, command.date, _sessions(command), command.reason, command.operator
        )

    async def _operate(self, call: Callable[..., list[SessionQuota]], office: str, *args: Any) -> dict:
        try:
            quotas = await self._write(call, office, *args)
        except UnknownOffice:
            return _unknown_office(office)
        except InvalidCapacity as error:
            return problem("invalid_capacity", f"Kapasitas tidak valid: {error}", str(error))
        except LeaseLost:
            return not_owner(self.partition_of(office))
        await self._published(quotas)
        return {
            "sessions": [{"date": q.day.isoformat(), "session": q.session} | remaining(q).model_dump() for q in quotas]
        }


def traced(messages: list[Message]) -> list[tuple[str, str, int]]:
    """The sampled bookings of a batch: from its consumer (per booking), or the fast path's caller."""
    if not hops.enabled():
        return []
    at, contexts = hops.now(), hops.saving_now()
    if contexts:
        return [(b, contexts[b], at) for m in messages for b in hops.bookings_of(m) if b in contexts]
    parent = hops.current()
    return [(b, parent, at) for m in messages for b in hops.bookings_of(m)] if parent else []


def remaining(quota: SessionQuota) -> SessionRemaining:
    return SessionRemaining(
        capacity=quota.capacity, booked=quota.booked, remaining=quota.remaining, closed=quota.closed
    )


def _sessions(command: ChangeCapacity | CloseSessions) -> list[str]:
    return [command.session.value] if command.session else list(SESSIONS)


def not_owner(partition: int) -> dict:
    return problem(
        "partition_not_held",
        f"Pekerja ini belum memegang partisi {partition}; coba lagi sebentar.",
        f"This worker does not hold partition {partition} now (waiting for its lease); try again shortly.",
    )


def _unknown_office(office: str) -> dict:
    return problem("unknown_office", f"Kantor {office} tidak dikenal.", f"Unknown office {office}.")
