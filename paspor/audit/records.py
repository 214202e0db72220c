"""Reading an event store as plain records, in notification order, in big pages.

The audit does not rebuild domain event objects: it decodes each stored event's state (decrypting the
booking store) into a dict and names it by its topic's class path (`SessionQuota.Decided`). That is
fast (no aggregate classes to resolve) and robust: an event type the audit does not know is counted
and reported, never fatal, and an event written by an older release still reads.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from uuid import UUID

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from eventsourcing.application import Application
from eventsourcing.cryptography import AESCipher
from eventsourcing.persistence import JSONTranscoder
from eventsourcing.sqlite import SQLiteApplicationRecorder

from shared.runtime.settings import CommonSettings
from shared.runtime.store import register_date, store_env

PAGE = 20_000
STORES = ("quota", "booking", "notifier")
ENCRYPTED = {"booking"}


class StoreMissing(LookupError):
    """A service's event store does not exist (yet) where the settings point."""


@dataclass(frozen=True, slots=True)
class Record:
    """One stored event: where it sits in its store's log, what it is, and its decoded state."""

    store: str
    position: int
    aggregate_id: str
    version: int
    kind: str
    state: dict[str, Any]

    @property
    def timestamp(self) -> dt.datetime:
        return self.state["timestamp"]


def ident(value: str | UUID) -> str:
    """An id as the audit compares it: 32 lowercase hex digits (as eventsourcing stores ids)."""
    return value.hex if isinstance(value, UUID) else value.replace("-", "").lower()


# eventsourcing's transcodings (UUIDAsHex, DatetimeAsISO, DecimalAsStr) and ours (DateAsISO). The state is
# parsed without an object hook (the C parser alone: fast); the few values the audit reads are decoded
# when read, by `plain`. Ids stay text, 32 hex digits (see `ident`). A value of a type it does not
# know stays its raw {_type_, _data_} dict.
DECODERS: dict[str, Callable[[str], Any]] = {
    "uuid_hex": str,
    "datetime_iso": dt.datetime.fromisoformat,
    "date_iso": dt.date.fromisoformat,
    "decimal_str": Decimal,
}


def plain(value: Any) -> Any:
    """A stored value as a Python value (a transcoded one is a {_type_, _data_} dict in the state)."""
    if value.__class__ is dict and len(value) == 2 and "_type_" in value:
        decoder = DECODERS.get(value["_type_"])
        return decoder(value["_data_"]) if decoder else value
    return value


class StoreReader(Application[UUID]):
    """A read-only view of one service's event store (no aggregates, no cache)."""

    def __init__(self, name: str, env: dict[str, str]) -> None:
        self.name = name
        super().__init__(env)

    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        super().register_transcodings(transcoder)  # for `mapper.to_domain_event` (the JetStream cross-check)
        register_date(transcoder)

    def last_position(self) -> int:
        return self.recorder.max_notification_id() or 0

    def records(self, on_page: Callable[[int], None] = lambda n: None) -> Iterator[Record]:
        """Every stored event from the first, in notification order."""
        position, name, decrypt, compressor = 0, self.name, self._decrypt(), self.mapper.compressor
        scan = json.JSONDecoder().scan_once  # type: ignore[attr-defined]  # set in JSONDecoder.__init__, not in typeshed
        timestamp = dt.datetime.fromisoformat
        while rows := self._rows(position, PAGE):
            for notification_id, originator_id, version, topic, state in rows:
                if decrypt:
                    state = decrypt(state)
                if compressor:
                    state = compressor.decompress(state)
                state = scan(state.decode(), 0)[0]
                state["timestamp"] = timestamp(state["timestamp"]["_data_"])
                yield Record(name, notification_id, originator_id, version, topic.rpartition(":")[2], state)
            position = rows[-1][0]
            on_page(len(rows))

    def _decrypt(self) -> Callable[[bytes], bytes] | None:
        """eventsourcing's AES-GCM layout (nonce, tag, data) opened with one AESGCM object, not one per event."""
        cipher = self.mapper.cipher
        if not isinstance(cipher, AESCipher):
            return cipher.decrypt if cipher else None
        aesgcm = AESGCM(cipher.key)
        return lambda blob: aesgcm.decrypt(blob[:12], blob[28:] + blob[12:28], None)

    def _rows(self, position: int, limit: int) -> list[tuple[int, str, int, str, bytes]]:
        """A page of the notification log; on SQLite straight from the table (no objects built per row)."""
        recorder = self.recorder
        if isinstance(recorder, SQLiteApplicationRecorder):
            with recorder.datastore.transaction(commit=False) as cursor:
                cursor.sqlite_cursor.row_factory = None  # plain tuples: much cheaper than sqlite3.Row
                cursor.execute(
                    f"SELECT rowid, originator_id, originator_version, topic, state "  # noqa: S608
                    f"FROM {recorder.events_table_name} WHERE rowid > ? ORDER BY rowid LIMIT ?",
                    (position, limit),
                )
                return cursor.fetchall()
        page = recorder.select_notifications(position, limit, inclusive_of_start=False)
        return [(n.id, UUID(str(n.originator_id)).hex, n.originator_version, n.topic, bytes(n.state)) for n in page]


def open_store(settings: CommonSettings, name: str) -> StoreReader:
    """The reader of one service's store, as that service configures it; StoreMissing if there is none."""
    env = (
        store_env(settings, name, encrypt=name in ENCRYPTED)
        if name not in ENCRYPTED
        else _encrypted_env(settings, name)
    )
    if settings.event_store == "sqlite" and not (settings.data_dir / f"{name}.sqlite").exists():
        raise StoreMissing(f"no {name} event store at {settings.data_dir / f'{name}.sqlite'}")
    env["CREATE_TABLE"] = "n"
    reader = StoreReader(name, env)
    if settings.event_store == "postgres" and not _postgres_table_exists(reader):
        reader.close()
        raise StoreMissing(f"no {name} event store in {settings.postgres_url}")
    return reader


def _encrypted_env(settings: CommonSettings, name: str) -> dict[str, str]:
    """Never creates a key: a store encrypted with a key we do not have cannot be audited."""
    key_file = settings.data_dir / "keys" / "store-cipher.key"
    if settings.cipher_key is None and not key_file.exists():
        raise StoreMissing(f"the {name} store is encrypted and there is no key (PASPOR_CIPHER_KEY or {key_file})")
    return store_env(settings, name, encrypt=True)


def _postgres_table_exists(reader: StoreReader) -> bool:
    from eventsourcing.postgres import PostgresApplicationRecorder

    recorder = reader.recorder
    assert isinstance(recorder, PostgresApplicationRecorder), "only asked of a store opened on PostgreSQL"
    with recorder.datastore.get_connection() as conn, conn.cursor() as cursor:
        cursor.execute("SELECT to_regclass(%s)", (recorder.events_table_name,))
        row = cursor.fetchone()
        assert row is not None, "SELECT without FROM answers one row"
        return next(iter(row.values())) is not None
