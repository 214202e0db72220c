"""Fixtures: real nats-server processes and the embedded system, each in a temporary folder."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from paspor.embedded import EmbeddedSystem
from paspor.natsserver import NatsServer, free_port


@pytest.fixture
def nats_server(tmp_path: Path) -> Iterator[NatsServer]:
    """A fresh nats-server with JetStream on a free port."""
    server = NatsServer(tmp_path / "nats").start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def system(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedSystem]:
    """The whole embedded system (nats-server + four service processes), shared by a session."""
    running = EmbeddedSystem(tmp_path_factory.mktemp("system"), gateway_port=free_port())
    running.start()
    yield running
    running.stop()


def postgres_required() -> bool:
    return os.environ.get("CI", "").lower() == "true"
