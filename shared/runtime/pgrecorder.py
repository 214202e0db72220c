"""PostgreSQL recorder whose tables are created by one process at a time.

eventsourcing creates an application's tables when it starts. Two processes of one service
(two quota workers, two booking services) starting together collide in PostgreSQL while doing
so ("tuple concurrently updated" on the insert function they share), and one of them dies.
This recorder does the same creation under an advisory lock, on one connection.
"""

from __future__ import annotations

import contextlib

from eventsourcing.postgres import PostgresApplicationRecorder
from psycopg.errors import DuplicateObject

CREATE_LOCK = 7_311_001  # pg_advisory_lock key: "creating event store tables"


class LockedPostgresApplicationRecorder(PostgresApplicationRecorder):
    """Creates its tables under a PostgreSQL advisory lock; otherwise eventsourcing's own recorder."""

    def create_table(self) -> None:
        with self.datastore.get_connection() as conn:
            conn.execute("SELECT pg_advisory_lock(%s)", (CREATE_LOCK,))
            try:
                for statement in self.sql_create_statements:
                    if "CREATE TYPE" in statement.as_string():  # no IF NOT EXISTS for types
                        with contextlib.suppress(DuplicateObject), conn.transaction():
                            conn.execute(statement, prepare=False)
                with conn.transaction(), conn.cursor() as cursor:
                    self._create_table(cursor)
            finally:
                conn.execute("SELECT pg_advisory_unlock(%s)", (CREATE_LOCK,))
        self.datastore.register_type_adapters()
