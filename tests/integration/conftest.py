"""Integration fixtures: a fresh PostgreSQL database for the test session (skipped if there is no server)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import psycopg
import pytest

POSTGRES_SERVER = os.environ.get("PASPOR_TEST_POSTGRES_SERVER", "postgresql://postgres@127.0.0.1:5432")


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """URL of a new, empty database on the local PostgreSQL server, dropped after the session.

    Skipped when the server is unreachable, except in CI (CI=true), where that fails.
    """
    admin = f"{POSTGRES_SERVER}/postgres"
    name = f"paspor_test_{uuid.uuid4().hex[:12]}"
    try:
        with psycopg.connect(admin, autocommit=True, connect_timeout=3) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
    except psycopg.OperationalError as error:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"PostgreSQL is required in CI but unreachable at {admin}: {error}")
        pytest.skip(f"no PostgreSQL at {admin}: {error}")
    yield f"{POSTGRES_SERVER}/{name}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
