"""Event store configuration for `eventsourcing` applications, per service and backend."""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import logging
import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any
from urllib.parse import urlparse
from uuid import UUID

from eventsourcing.application import Application, LRUCache, ProcessingEvent
from eventsourcing.domain import Aggregate, DomainEventProtocol
from eventsourcing.persistence import EventStore, JSONTranscoder, Mapper, Recording, StoredEvent, Transcoding

from shared.pseudonyms import Pseudonyms

from . import hops
from .settings import CommonSettings

# Single writer per aggregate (see DESIGN.md): the cache may hand out its own copy, fast.
FAST_CACHE = {
    "AGGREGATE_CACHE_MAXSIZE": "500000",
    "AGGREGATE_CACHE_FASTFORWARD": "n",
    "DEEPCOPY_FROM_AGGREGATE_CACHE": "n",
}


log = logging.getLogger(__name__)


class RecordingApplication(Application[UUID]):
    """An application that hands what each save recorded to a listener (its relay), right after the commit.

    It also snapshots the aggregate types named in `snapshot_every` (type -> events between snapshots)
    when a save takes one past a multiple of its interval. A snapshot is taken from the aggregate as
    it was just saved (eventsourcing's own `take_snapshot` would replay it from the store, on the
    writer), and kept in eventsourcing's snapshot store: a table of its own (`<name>_snapshots`)
    that the relays and the audit, which read the events' notification log, never see. The
    repository loads an aggregate from its latest snapshot and the events after it.
    """

    on_recorded: Callable[[list[Recording[UUID]]], None] | None = None
    snapshot_every: dict[type[Aggregate], int] = {}  # noqa: RUF012  (set per instance by `snapshotting`)

    def _notify(self, recordings: list[Recording[UUID]]) -> None:  # eventsourcing's hook after a save
        if self.on_recorded is not None and recordings:
            self.on_recorded(recordings)

    def construct_snapshot_store(self) -> EventStore[UUID]:
        """eventsourcing's snapshot store; on PostgreSQL its table is created as the events' one is."""
        if self.env.get("PERSISTENCE_MODULE") == "eventsourcing.postgres":
            from .pgrecorder import locked_snapshot_recorder  # psycopg only where PostgreSQL is used

            return self.factory.event_store(mapper=self.mapper, recorder=locked_snapshot_recorder(self.factory))
        return super().construct_snapshot_store()

    def _take_snapshots(self, processing_event: ProcessingEvent[UUID]) -> None:  # eventsourcing's hook
        if self.snapshots is None or not self.snapshot_every:
            return
        saved: dict[UUID, int] = {}
        for event in processing_event.events:
            saved[event.originator_id] = saved.get(event.originator_id, 0) + 1
        due = []
        for aggregate_id, count in saved.items():
            aggregate: Any = processing_event.aggregates.get(aggregate_id)
            every = self.snapshot_every.get(type(aggregate)) if aggregate is not None else None
            if every and aggregate is not None and aggregate.version // every > (aggregate.version - count) // every:
                due.append(type(aggregate).Snapshot.take(aggregate))
        if due:
            try:
                self.snapshots.put(due)
            except Exception:  # the events are saved; a snapshot only saves replaying them later
                log.warning("%s: %d snapshot(s) not saved; the next interval takes them", self.name, len(due))


class TracedMapper(Mapper[UUID]):
    """Stores, with each event, the trace context of the hop that saved it (per booking), and hands it to the relay.

    The context sits in the stored state under `_trace`, beside the event's own fields: the domain event
    never sees it (it is taken off when read), and a store written with tracing on reads the same with it off.
    """

    def to_stored_event(self, domain_event: DomainEventProtocol[UUID]) -> StoredEvent:
        trace = hops.trace_for(domain_event)
        if trace is None:
            return super().to_stored_event(domain_event)
        hops.STORED.put((domain_event.originator_id, domain_event.originator_version), trace)
        stored = super().to_stored_event(domain_event)
        state = self.transcoder.decode(self._plain(stored.state)) | {"_trace": trace}
        return StoredEvent(stored.originator_id, stored.originator_version, stored.topic, self._sealed(state))

    def to_domain_event(self, stored_event: StoredEvent) -> DomainEventProtocol[UUID]:
        event = super().to_domain_event(stored_event)
        trace = vars(event).pop("_trace", None)
        if trace:
            hops.STORED.put((event.originator_id, event.originator_version), trace)
        return event

    def _plain(self, data: bytes) -> bytes:
        data = self.cipher.decrypt(data) if self.cipher else data
        return self.compressor.decompress(data) if self.compressor else data

    def _sealed(self, state: dict[str, Any]) -> bytes:
        data = self.transcoder.encode(state)
        data = self.compressor.compress(data) if self.compressor else data
        return self.cipher.encrypt(data) if self.cipher else data


class DateAsISO(Transcoding):
    """Stores `datetime.date` as an ISO string (eventsourcing has no date transcoding)."""

    type = dt.date
    name = "date_iso"

    def encode(self, obj: dt.date) -> str:
        return obj.isoformat()

    def decode(self, data: str) -> dt.date:
        return dt.date.fromisoformat(data)


def register_date(transcoder: JSONTranscoder) -> None:
    """Adds the date transcoding to an application's transcoder."""
    transcoder.register(DateAsISO())


def store_env(settings: CommonSettings, service: str, *, encrypt: bool = False) -> dict[str, str]:
    """The eventsourcing environment for one service's event store."""
    env: dict[str, str] = {"MAPPER_TOPIC": "shared.runtime.store:TracedMapper"}
    if settings.event_store == "sqlite":
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        env["PERSISTENCE_MODULE"] = "eventsourcing.sqlite"
        env["SQLITE_DBNAME"] = str(settings.data_dir / f"{service}.sqlite")
        env["SQLITE_LOCK_TIMEOUT"] = "10"
    elif settings.event_store == "postgres":
        env.update(postgres_env(settings.postgres_url, settings.postgres_pool_size))
    else:
        env["PERSISTENCE_MODULE"] = "eventsourcing.popo"
    if encrypt:
        env["CIPHER_TOPIC"] = "eventsourcing.cryptography:AESCipher"
        env["CIPHER_KEY"] = settings.cipher_key or data_key(settings.data_dir, "store-cipher.key")
    return env


def postgres_env(url: str, pool_size: int) -> dict[str, str]:
    """Translate a postgresql:// URL into eventsourcing's POSTGRES_* settings."""
    parsed = urlparse(url)
    if parsed.scheme not in ("postgresql", "postgres"):
        raise ValueError(f"PostgreSQL URL must start with postgresql:// (got {url!r})")
    return {
        "PERSISTENCE_MODULE": "eventsourcing.postgres",
        "POSTGRES_DBNAME": (parsed.path or "/postgres").lstrip("/") or "postgres",
        "POSTGRES_HOST": parsed.hostname or "127.0.0.1",
        "POSTGRES_PORT": str(parsed.port or 5432),
        "POSTGRES_USER": parsed.username or "postgres",
        "POSTGRES_PASSWORD": parsed.password or "",
        "POSTGRES_POOL_SIZE": str(pool_size),
        "POSTGRES_MAX_OVERFLOW": "0",
        "CREATE_TABLE": "y",
        # Tables named after the application (quota_events, booking_events, notifier_events),
        # created by one process at a time when several start together.
        "APPLICATION_RECORDER_TOPIC": "shared.runtime.pgrecorder:LockedPostgresApplicationRecorder",
    }


IDENTITY_KEY_FILE = "identity.key"


def pseudonyms_of(settings: CommonSettings) -> Pseudonyms:
    """The configured identity key (PASPOR_IDENTITY_KEY), else the one kept in the data folder."""
    return Pseudonyms.from_text(settings.identity_key or data_key(settings.data_dir, IDENTITY_KEY_FILE))


def data_key(data_dir: Path, name: str) -> str:
    """A 256-bit key kept in the data folder (created on first use, readable by owner only)."""
    path = data_dir / "keys" / name
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another process made it first
            return path.read_text().strip()
        with os.fdopen(fd, "w") as file:
            file.write(base64.b64encode(os.urandom(32)).decode())
    return path.read_text().strip()


def cached(app: Any) -> list[Any]:
    """The aggregates an application's cache holds now (a copy of the list: safe to change them)."""
    cache = app.repository.cache
    if cache is None:
        return []
    with getattr(cache, "lock", contextlib.nullcontext()):
        entries = list(cache.cache.values())
    # An LRU cache keeps [previous, next, key, aggregate] links; a plain cache the aggregates.
    return [entry[LRUCache.RESULT] if isinstance(cache, LRUCache) else entry for entry in entries]


def evict(app: Any, aggregate_ids: Iterable[Any]) -> None:
    """Drop aggregates from an application's cache, e.g. after a failed save left them ahead of the store."""
    cache = app.repository.cache
    if cache:
        for aggregate_id in aggregate_ids:
            with contextlib.suppress(KeyError):
                cache.get(aggregate_id, evict=True)
