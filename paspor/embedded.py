"""The embedded system: one nats-server, SQLite stores in a data folder, every service."""

from __future__ import annotations

import ctypes
import fcntl
import json
import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import TextIO

import httpx

from shared import clock
from shared.events import DEFAULT_PARTITIONS
from shared.runtime.natsauth import KEYS_FOLDER, KeyFolder, NatsLogin
from shared.runtime.permissions import USERS, authorization

from .natsserver import NatsServer, port_is_free

log = logging.getLogger("paspor.up")
SERVICES = ("quota", "booking", "notifier", "gateway")
PR_SET_PDEATHSIG = 1


def die_with_parent() -> None:
    """Linux: a child gets SIGTERM when `paspor up` dies, even by kill -9 (no orphans)."""
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except OSError:  # not Linux: the normal shutdown path still stops the children
        pass


RUNTIME_FILE = "runtime.json"


def write_runtime_file(data_dir: Path, **addresses: str) -> None:
    """Where the running system listens, so that other `paspor` commands find it."""
    (data_dir / RUNTIME_FILE).write_text(json.dumps(addresses, indent=2))


def running_addresses(data_dir: Path) -> dict[str, str]:
    """The addresses `paspor up` wrote for a data folder, or {} when it is not running."""
    path = data_dir / RUNTIME_FILE
    return json.loads(path.read_text()) if path.exists() else {}


def stop_services(services: list[tuple[str, subprocess.Popen[bytes]]], grace: float = 20.0) -> None:
    """SIGTERM to each running service in the order given, then wait; kill one that outlasts `grace` seconds."""
    for _, process in services:
        if process.poll() is None:
            process.terminate()
    for name, process in services:
        try:
            process.wait(grace)
        except subprocess.TimeoutExpired:
            log.warning("service %s did not stop in time; killing it", name)
            process.kill()
            process.wait()


LOCK_FILE = ".paspor-up.lock"  # held by `paspor up` (and by commands that must not run beside it)


class DataDirInUse(RuntimeError):
    """Another `paspor up` runs on this data folder."""


class EmbeddedSystem:
    """Starts, watches and stops the whole system on one machine."""

    def __init__(
        self, data_dir: Path, gateway_port: int = 8080, nats_port: int | None = None, env: dict[str, str] | None = None
    ) -> None:
        self.data_dir = data_dir.resolve()
        self.gateway_port = gateway_port
        self.nats = NatsServer(self.data_dir / "nats", nats_port, name="paspor-embedded")
        self.keys = KeyFolder(self.data_dir / KEYS_FOLDER)  # one NATS user per service and tool
        self.extra_env = env or {}
        # A pinned clock (PASPOR_CLOCK_START) reads its start when `paspor up` started, in every service,
        # however much later a service is started or restarted.
        self.clock_started = str(clock.wall_clock().timestamp())
        self.children: dict[str, subprocess.Popen[bytes]] = {}
        self._restarts: dict[str, list[float]] = {}
        self._lock_file: TextIO | None = None

    @property
    def gateway_url(self) -> str:
        return f"http://127.0.0.1:{self.gateway_port}"

    def start(self, timeout: float = 60.0) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._lock()
        if not port_is_free(self.gateway_port):
            raise RuntimeError(f"port {self.gateway_port} is already in use; choose another with --port")
        resuming = (self.data_dir / "booking.sqlite").exists()
        log.info("%s data folder %s", "resuming from" if resuming else "new", self.data_dir)
        self._authorize()
        self.nats.start(preexec_fn=die_with_parent)
        log.info("nats-server ready at %s (JetStream store %s)", self.nats.url, self.nats.store_dir)
        for name in SERVICES:
            self.children[name] = self._spawn(name)
        self._wait_ready(timeout)
        write_runtime_file(self.data_dir, nats_url=self.nats.url, gateway_url=self.gateway_url)

    def _authorize(self) -> None:
        """Each user's nkey (made once, kept in the data folder) and the server's permissions, rendered anew
        from `shared/runtime/permissions.py` at every start."""
        partitions = int((os.environ | self.extra_env).get("PASPOR_PARTITIONS", DEFAULT_PARTITIONS))
        config = self.nats.store_dir / "auth.conf"
        config.parent.mkdir(parents=True, exist_ok=True)
        config.write_text(authorization(self.keys.public_keys(USERS), partitions))
        self.nats.config, self.nats.login = config, self.login("auditor")

    def login(self, user: str) -> NatsLogin:
        """How a process logs in to this system's NATS as one of its users (tests, tools)."""
        return NatsLogin(nats_user=user, nats_nkey_file=self.keys.path(user))

    def _spawn(self, name: str) -> subprocess.Popen[bytes]:
        inherited = {k: v for k, v in os.environ.items() if k != "PASPOR_NATS_NKEY_SEED"}  # ours is the file
        env = (
            inherited
            | self.keys.environment(name)
            | {
                "PASPOR_NATS_URL": self.nats.url,
                "PASPOR_DATA_DIR": str(self.data_dir),
                "PASPOR_EVENT_STORE": "sqlite",
                "PASPOR_GATEWAY_PORT": str(self.gateway_port),
                "PASPOR_GATEWAY_DEV_ISSUER": "true",
                "PASPOR_BOOKING_CACHE_FASTFORWARD": "false",  # one booking process: its cache is the truth
            }
            | self.extra_env
        )
        if "PASPOR_CLOCK_START" in env:
            env.setdefault("PASPOR_CLOCK_STARTED", self.clock_started)
        command = [sys.executable, "-m", "paspor", "service", name]
        # Own session: a Ctrl-C in the terminal reaches `paspor up` only, which stops them in order.
        return subprocess.Popen(
            command, env=env, stdin=subprocess.DEVNULL, preexec_fn=die_with_parent, start_new_session=True
        )

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.revive()  # a service that died while the others start is started again (5 times at most)
            try:
                if httpx.get(f"{self.gateway_url}/ready", timeout=1).status_code == 200:
                    log.info("gateway ready at %s", self.gateway_url)
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"the gateway did not become ready in {timeout:.0f}s")

    def revive(self, max_restarts: int = 5, window: float = 60.0) -> None:
        """Restart a service that died; give up (raise) when one keeps dying."""
        now = time.monotonic()
        for name, child in list(self.children.items()):
            if child.poll() is None:
                continue
            recent = [t for t in self._restarts.get(name, []) if now - t < window] + [now]
            if len(recent) > max_restarts:
                raise RuntimeError(f"service {name} keeps failing (exit code {child.returncode}); see its log above")
            log.warning("service %s exited with code %s; restarting it", name, child.returncode)
            self._restarts[name] = recent
            self.children[name] = self._spawn(name)

    def stop(self) -> None:
        """Stop the services (gateway first), then nats-server."""
        stop_services([(name, self.children[name]) for name in reversed(SERVICES) if name in self.children])
        self.nats.stop()
        (self.data_dir / RUNTIME_FILE).unlink(missing_ok=True)
        log.info("stopped")
        self._unlock()

    def _lock(self) -> None:
        self._lock_file = open(self.data_dir / LOCK_FILE, "w")  # noqa: SIM115 - held while running
        try:
            fcntl.flock(self._lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise DataDirInUse(f"another `paspor up` is running on {self.data_dir}") from None

    def _unlock(self) -> None:
        if self._lock_file is not None:
            self._lock_file.close()
            self._lock_file = None
