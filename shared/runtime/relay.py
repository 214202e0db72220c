"""The outbox relay: publishes what an event store recorded, in order, to JetStream.

The event store is the source of truth; JetStream is the transport. The relay reads the
application's notification log after the last position it published, turns each stored
event into wire messages, publishes them with ``Nats-Msg-Id`` (so JetStream drops what a
restart sends twice), and only then moves its position forward. Nothing is published
that was not stored, and nothing stored is skipped.

Right after each commit the application hands the relay what it recorded, in memory: when that
follows on from the relay's position (one writer per store: no gap), it is published without
reading the log. The notification log is read only to fill a gap: after a crash or a restart, or
where other processes write the same store.

A stored event that cannot be published as it is (it does not decode, or its message is invalid
or larger than NATS accepts and cannot be split) would stop the relay for good if retried: it
goes to the service's dead-letter subject with its position instead, is counted, and the relay
goes on. A batch of decisions larger than the payload limit is split into parts that fit.

When several processes write one store, each owning some partitions (quota workers), each
relay publishes only its own partitions' events and keeps one position per partition: the
work is not done twice, and a partition that changes hands continues from where its last
owner's relay stopped.

An operator may move a partition's position back (`rewind`, `paspor rebuild outcomes`): the relay then
publishes that partition's events again from there, through the same path; JetStream drops what is
still within its dedupe window and the consumers ignore what they handled already.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import Counter, deque
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from nats.errors import Error as NatsError
from nats.js import JetStreamContext
from nats.js.errors import KeyNotFoundError

from shared.events import DeadLetter, Message, SlotsDecided, derived_id
from shared.events.subjects import DEAD_LETTER_SUBJECT

from . import hops
from .bus import open_bucket, patiently

log = logging.getLogger(__name__)
ToWire = Callable[[Any], Iterable[tuple[str, Message]]]
# (notification id, subject, message, the stored event's trace contexts per booking or None)
Record = tuple[int, str, Message, dict[str, str] | None]
ACK_TIMEOUT = 15.0
# The stored position only spares a restart some re-publishing (JetStream drops the duplicates), so
# it is written at most this often while busy, and whenever the relay falls idle.
POSITION_EVERY = 0.25
IDLE_WAIT = 1.0  # with nothing handed over or woken, look at the log this often (other writers' events)
HEADROOM = 4096  # bytes of a message's payload limit left for its headers (message id, trace context)


@dataclass(frozen=True)
class Scope:
    """The partitions one relay publishes (of how many there are), and the partition of a stored event."""

    owned: frozenset[int]
    partitions: int
    partition_of: Callable[[Any], int]

    def key(self, name: str, partition: int) -> str:
        # With another number of partitions an office may land elsewhere: positions start anew.
        return f"{name}.p{partition:02d}of{self.partitions}"


class Relay:
    """Publishes an application's stored events to JetStream, at least once, in order."""

    def __init__(
        self,
        name: str,
        app: Any,
        js: JetStreamContext,
        to_wire: ToWire,
        executor: Executor,
        *,
        batch: int = 1000,
        scope: Scope | None = None,
        idle_wait: float = IDLE_WAIT,
        ack_timeout: float = ACK_TIMEOUT,
        max_payload: int | None = None,
    ) -> None:
        self.name, self.app, self.js, self.to_wire = name, app, js, to_wire
        self.executor, self.batch, self.scope = executor, batch, scope
        self.idle_wait, self.ack_timeout = idle_wait, ack_timeout
        self.position = 0  # everything up to here is published (of the owned partitions, when scoped)
        self.positions: dict[int, int] = {}  # per owned partition, when scoped
        self._partitions: dict[UUID, int] = {}  # aggregate id -> partition, learned once per aggregate
        self.published = 0
        self.log_reads = 0  # reads of the notification log (to fill a gap), for tests and metrics
        self.dead_lettered = 0  # stored events that could not be published as they are
        self.split = 0  # messages sent in parts, being larger than NATS accepts
        self.max_payload = max_payload  # None: the server's limit, read when the relay opens
        self._wake = asyncio.Event()
        self._advanced = asyncio.Event()  # set after every batch published (see published_through)
        self._kv: Any = None
        self._handed: deque[tuple[int, Any]] = deque()  # (notification id, event), appended by the writer
        self._gap = False  # the hand-over skipped something: the log must be read
        self._saved_at, self._saved_position = 0.0, 0  # when and where the position was last stored
        self.counted: Counter[int | None] = Counter()  # stored events published, per partition (None: unscoped)
        self._batch_counts: Counter[int | None] = Counter()  # the batch being published, counted once it is acked
        self._rewinds: dict[int | None, int] = {}  # asked for, applied between two batches (see rewind)
        self._replay_through = 0  # events up to here are sent again on purpose: without JetStream's dedupe id
        if hasattr(app, "on_recorded"):
            app.on_recorded = self.hand_over

    def wake(self) -> None:
        """Tell the relay there is something new to publish."""
        self._wake.set()

    def rewind(self, partition: int | None, to: int = 0) -> None:
        """Publish the partition's events again after position `to` (None: an unscoped relay's whole store).

        Applied between two batches by the running relay (never under a batch in flight, whose end would
        move the position forward again); `caught_up` tells when it is done.
        """
        if self.scope is not None and partition not in self.scope.owned:
            raise ValueError(f"relay {self.name} does not publish partition {partition}")
        self._rewinds[partition] = min(to, self._rewinds.get(partition, to))
        self.wake()

    def caught_up(self, position: int) -> bool:
        """Whether everything stored up to `position` was published (and no rewind waits)."""
        return not self._rewinds and self.position >= position

    async def published_through(self, position: int, timeout: float) -> bool:
        """Wait until everything stored up to `position` is published (and no rewind waits); False when
        `timeout` seconds pass first. Woken by each batch the running relay publishes, not by polling."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            self._advanced.clear()  # before looking: a batch published meanwhile sets it again
            if self.caught_up(position):
                return True
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                return False
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._advanced.wait(), timeout=remaining)

    def _apply_rewinds(self) -> None:
        rewinds, self._rewinds = self._rewinds, {}
        # Within the stream's dedupe window (or after a purge, which may not reset it) JetStream would drop
        # what is sent again under its message id: it goes without one, and the consumers dedupe it.
        self._replay_through = max(self._replay_through, self.position)
        for partition, to in rewinds.items():
            if partition is None or self.scope is None:
                self.position = min(self.position, to)
            else:
                self.positions[partition] = min(self.positions[partition], to)
                self.position = min(self.position, to)
            log.warning("relay %s: publishing partition %s again after position %d", self.name, partition, to)
        self._handed.clear()  # the log has all of it, in order
        self._gap = True

    def hand_over(self, recordings: Sequence[Any]) -> None:
        """What a save just recorded (called on the writer thread, after the commit)."""
        self._handed.extend((r.notification.id, r.domain_event) for r in recordings)

    async def open(self) -> None:
        """Find where publishing stopped (the positions live in a key-value bucket)."""
        if self.max_payload is None:
            self.max_payload = getattr(getattr(self.js, "_nc", None), "max_payload", None) or 1024 * 1024
        self._kv = await open_bucket(self.js, "paspor_relay")  # replicated as the streams are
        await patiently(self._load_positions)  # a cluster that is starting answers slowly

    async def run(self) -> None:
        """Publish forever; retries (never skips) when NATS is unreachable."""
        await self.open()
        read_log = True  # catch up with the log first: what a crash left unpublished
        while True:
            # Cleared before looking, never after: a save that commits while the relay publishes sets
            # it again, so the relay looks once more instead of sleeping on a stored event.
            self._wake.clear()
            if self._rewinds:
                self._apply_rewinds()
                read_log = True
            try:
                moved = await self.publish_pending(read_log)
            except (NatsError, OSError, TimeoutError, ValueError) as error:
                # Transport trouble (NATS down, restarting, or an unreadable ack): retry, never skip.
                log.warning("relay %s: publish failed at position %d, retrying: %r", self.name, self.position, error)
                await asyncio.sleep(0.5)
                read_log = True
                continue
            if moved:
                read_log = self._gap  # a full batch from the log may have more behind it
                continue
            if self._saved_position != self.position:
                await self._save_positions_or_later()
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=self.idle_wait)
                read_log = self._gap
            except TimeoutError:
                read_log = True  # idle: what other writers of the store recorded, or a missed hand-over

    async def publish_pending(self, read_log: bool = True) -> bool:
        """Publish one batch: what was handed over when it follows on, else (when asked to) from the log."""
        self._batch_counts.clear()
        last_id, records = self._from_handed()
        if last_id is None and (read_log or self._gap):
            last_id, records = await asyncio.get_running_loop().run_in_executor(
                self.executor, self._read, self.position
            )
            self.log_reads += 1
            self._gap = last_id is not None  # read on until the log has nothing more
        if last_id is None:
            return False
        spans = self._spans(records)
        contexts = spans.contexts if spans is not None else {}
        pending = [
            await self._publish(subject, message, contexts, dedupe=record[0] > self._replay_through)
            for record in records
            for subject, message in self._fit(record)
        ]
        try:  # every PubAck, or the error of the first that failed
            await asyncio.wait_for(asyncio.gather(*pending), timeout=self.ack_timeout)
        except BaseException as error:
            if spans is not None:
                spans.end(error)
            raise
        finally:
            for future in pending:
                future.cancel()  # frees the client's pending slots of what will never be acked
        if spans is not None:
            spans.end()
        self.position = last_id
        self.published += len(records)
        self.counted.update(self._batch_counts)
        self._advanced.set()
        if time.monotonic() - self._saved_at >= POSITION_EVERY:
            await self._save_positions()
        return True

    def _spans(self, records: list[Record]) -> hops.Group | None:
        """Per traced booking a `<service> relay publish` span, child of the hop that stored it; the batch's linked."""
        traced = [(b, tp, None) for *_, trace in records if trace for b, tp in trace.items()]
        return hops.group(f"{self.name} relay publish", list(dict.fromkeys(traced)), wait="publish")

    def _from_handed(self) -> tuple[int | None, list[Record]]:
        """The events handed over that follow on from the position, or (None, []) when the log must be read."""
        handed = [self._handed.popleft() for _ in range(min(len(self._handed), self.batch))]
        handed = [(nid, event) for nid, event in handed if nid > self.position]
        if not handed:
            return None, []
        if any(nid != self.position + i for i, (nid, _) in enumerate(handed, 1)):
            self._handed.clear()  # a gap (another writer, a restart): the log has all of these too
            self._gap = True
            return None, []
        records: list[Record] = []
        for nid, event in handed:
            try:
                if not self._owns(nid, event):
                    continue
            except Exception as error:  # noqa: BLE001 - no partition: it can never be published
                records.append(self._dead(nid, event, None, error))
                continue
            records.extend(self._wire(nid, event))
        return handed[-1][0], records

    def _wire(self, nid: int, event: Any) -> list[Record]:
        """The stored event's messages, or its dead letter when it cannot be turned into messages."""
        trace = hops.STORED.take(event)
        try:
            return [(nid, s, m, trace) for s, m in self.to_wire(event)]
        except Exception as error:  # noqa: BLE001 - deterministic: retrying would stop the relay for good
            return [self._dead(nid, event, None, error)]

    def _dead(self, nid: int, event: Any, notification: Any, error: BaseException | str) -> Record:
        """A stored event that cannot be published, as a dead letter naming its position and why."""
        source = event if event is not None else notification
        topic = getattr(notification, "topic", None) or (type(event).__qualname__ if event is not None else None)
        letter = DeadLetter(
            message_id=derived_id("deadletter", "relay", self.name, nid),
            service=self.name,
            source=f"relay:{self.name}",
            subject="",
            reason=(error if isinstance(error, str) else f"{type(error).__name__}: {error}")[:2000],
            position=nid,
            topic=topic,
            aggregate_id=str(getattr(source, "originator_id", "")) or None,
        )
        log.error("relay %s: stored event %d cannot be published, dead-lettered: %s", self.name, nid, letter.reason)
        self.dead_lettered += 1
        return nid, DEAD_LETTER_SUBJECT.format(service=self.name), letter, None

    def _fit(self, record: Record) -> list[tuple[str, Message]]:
        """A record's message as it can be sent: whole, in parts below the payload limit, or as a dead letter."""
        nid, subject, message, _ = record
        limit = (self.max_payload or 1024 * 1024) - HEADROOM
        if len(message.model_dump_json()) <= limit:
            return [(subject, message)]
        if isinstance(message, SlotsDecided):
            parts = message.split(limit)
            if all(len(part.model_dump_json()) <= limit for part in parts):
                self.split += 1
                return [(subject, part) for part in parts]
        _, dead_subject, letter, _ = self._dead(nid, None, None, f"message for {subject} larger than {limit} bytes")
        return [(dead_subject, letter.model_copy(update={"subject": subject, "data": ""}))]

    def _owns(self, notification_id: int, event: Any) -> bool:
        if self.scope is None:
            self._batch_counts[None] += 1
            return True
        partition = self._partitions.setdefault(event.originator_id, self.scope.partition_of(event))
        owned = partition in self.scope.owned and notification_id > self.positions[partition]
        if owned:
            self._batch_counts[partition] += 1
        return owned

    def _read(self, position: int) -> tuple[int | None, list[Record]]:
        notifications = self.app.recorder.select_notifications(
            start=position, limit=self.batch, inclusive_of_start=False
        )
        records: list[Record] = []
        for notification in notifications:
            try:
                event = self._owned_event(notification)
            except Exception as error:  # noqa: BLE001 - it does not decode: it never will
                records.append(self._dead(notification.id, None, notification, error))
                continue
            if event is not None:
                records.extend(self._wire(notification.id, event))
        return (notifications[-1].id if notifications else None), records

    def _owned_event(self, notification: Any) -> Any:
        """The stored event, or None when another relay publishes it (or this one already did)."""
        if self.scope is None:
            self._batch_counts[None] += 1
            return self.app.mapper.to_domain_event(notification)
        event = None
        partition = self._partitions.get(notification.originator_id)
        if partition is None:  # decoded once per aggregate to learn its partition
            event = self.app.mapper.to_domain_event(notification)
            partition = self._partitions[notification.originator_id] = self.scope.partition_of(event)
        if partition not in self.scope.owned or notification.id <= self.positions[partition]:
            return None
        self._batch_counts[partition] += 1
        return event if event is not None else self.app.mapper.to_domain_event(notification)

    async def _load_positions(self) -> None:
        legacy = await self._load(self.name) or 0  # one position for the whole store (unscoped relays)
        if self.scope is None:
            self.position = legacy
            return
        for partition in self.scope.owned:
            stored = await self._load(self.scope.key(self.name, partition))
            self.positions[partition] = stored if stored is not None else legacy
        self.position = min(self.positions.values(), default=0)

    async def _save_positions_or_later(self) -> None:
        """Store the position; when NATS cannot take it now (a node lost, a leader being elected), the next
        idle moment tries again. A position stored late only means a restart publishes again what the
        stream's dedupe window and the idempotent consumers drop: it must not stop the relay."""
        try:
            await self._save_positions()
        except (NatsError, OSError, TimeoutError) as error:
            log.warning("relay %s: position %d not stored yet, tried again later: %r", self.name, self.position, error)

    async def _save_positions(self) -> None:
        position, self._saved_at = self.position, time.monotonic()
        if self.scope is None:
            await self._kv.put(self.name, str(position).encode())
        else:
            for partition in self.scope.owned:
                self.positions[partition] = max(self.positions[partition], position)
            await asyncio.gather(
                *(self._kv.put(self.scope.key(self.name, p), str(self.positions[p]).encode()) for p in self.scope.owned)
            )
        self._saved_position = position  # only once stored: an idle relay tries again until it is

    async def _publish(
        self, subject: str, message: Message, contexts: dict[str, str], dedupe: bool = True
    ) -> asyncio.Future:
        """Send without waiting for the ack (pipelined); the returned future is the PubAck."""
        headers = {"Nats-Msg-Id": str(message.message_id)} if dedupe else {}
        return await self.js.publish_async(
            subject,
            message.model_dump_json().encode(),
            headers=(hops.outgoing(message, contexts, headers) if contexts else headers) or None,
        )

    async def _load(self, key: str) -> int | None:
        try:
            entry = await self._kv.get(key)
        except KeyNotFoundError:
            return None
        return int(entry.value.decode()) if entry.value else 0
