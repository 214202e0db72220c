"""eventsourcing's PostgreSQL recorder, with tables created by one process at a time and a faster insert.

eventsourcing creates an application's tables when it starts. Two processes of one service
(two quota workers, two booking services) starting together collide in PostgreSQL while doing
so ("tuple concurrently updated" on the insert function they share), and one of them dies.
This recorder does the same creation under an advisory lock, on one connection.

It also inserts a save's events as four arrays in binary format instead of one array of a
composite type, which psycopg can only send as text: escaping every byte of every event's
state in Python was a large share of a quota worker's time in a rush (BENCHMARKS.md). The
statement, the table lock and the notification are otherwise eventsourcing's own.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from typing import Any

from eventsourcing.persistence import InfrastructureFactory, StoredEvent
from eventsourcing.postgres import PostgresAggregateRecorder, PostgresApplicationRecorder, PostgresFactory
from psycopg import Cursor
from psycopg.errors import DuplicateObject
from psycopg.rows import DictRow
from psycopg.sql import SQL, Identifier

CREATE_LOCK = 7_311_001  # pg_advisory_lock key: "creating event store tables"


class LockedPostgresApplicationRecorder(PostgresApplicationRecorder):
    """Creates its tables under a PostgreSQL advisory lock; inserts in binary; otherwise eventsourcing's own."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.datastore.enable_db_functions:  # that path skips this insert and the table lock
            raise ValueError("POSTGRES_ENABLE_DB_FUNCTIONS is not supported: the relays need the table lock")
        self.insert_columns_statement = SQL(
            "INSERT INTO {schema}.{table} (originator_id, originator_version, topic, state)"
            " SELECT * FROM unnest(%b::{id_type}[], %b::bigint[], %b::text[], %b::bytea[])"
            " RETURNING notification_id"
        ).format(
            schema=Identifier(self.datastore.schema),
            table=Identifier(self.events_table_name),
            id_type=Identifier(self.datastore.originator_id_type),
        )

    def _insert_stored_events(self, curs: Cursor[DictRow], stored_events: Sequence[StoredEvent], **_: Any) -> None:
        self._lock_table(curs)  # notification ids in commit order, as eventsourcing does
        self._notify_channel(curs)
        curs.execute(
            self.insert_columns_statement,
            (
                [e.originator_id for e in stored_events],
                [e.originator_version for e in stored_events],
                [e.topic for e in stored_events],
                [e.state for e in stored_events],
            ),
            prepare=True,
        )

    def create_table(self) -> None:
        create_locked(self)


class LockedPostgresAggregateRecorder(PostgresAggregateRecorder):
    """eventsourcing's recorder of snapshots, its table created under the same advisory lock."""

    def create_table(self) -> None:
        create_locked(self)


def locked_snapshot_recorder(factory: InfrastructureFactory) -> LockedPostgresAggregateRecorder:
    """The snapshot table's recorder (`<application>_snapshots`), as eventsourcing names it."""
    if not isinstance(factory, PostgresFactory):
        raise TypeError("the locked snapshot recorder is for PostgreSQL")
    recorder = LockedPostgresAggregateRecorder(
        datastore=factory.datastore, events_table_name=f"{factory.env.name.lower() or 'stored'}_snapshots"
    )
    if factory.env_create_table():
        recorder.create_table()
    return recorder


def create_locked(recorder: PostgresAggregateRecorder) -> None:
    """Create a recorder's types and tables under a PostgreSQL advisory lock, one process at a time."""
    with recorder.datastore.get_connection() as conn:
        conn.execute("SELECT pg_advisory_lock(%s)", (CREATE_LOCK,))
        try:
            for statement in recorder.sql_create_statements:
                if "CREATE TYPE" in statement.as_string():  # no IF NOT EXISTS for types
                    with contextlib.suppress(DuplicateObject), conn.transaction():
                        conn.execute(statement, prepare=False)
            with conn.transaction(), conn.cursor() as cursor:
                recorder._create_table(cursor)
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (CREATE_LOCK,))
    recorder.datastore.register_type_adapters()
