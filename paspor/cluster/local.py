"""`paspor cluster up` on one machine: compose.yaml's services as local processes.

The NATS cluster runs as three local nats-server processes, PostgreSQL is given by URL, and every
service of compose.yaml runs its own command (`paspor service ...`) with its own environment,
addresses rewritten from container host names to loopback ports. NATS lets in only the system's
users: their keys are made once in `<data>/nats-keys` and handed to compose's `${NATS_KEY_*}` and
the nodes' `NATS_PUB_*` variables, as an operator does for compose.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx

from paspor.embedded import die_with_parent, stop_services
from paspor.natsserver import free_port
from shared.events import DEFAULT_PARTITIONS
from shared.runtime.natsauth import KEYS_FOLDER, KeyFolder, NatsLogin
from shared.runtime.permissions import SERVICES
from shared.runtime.store import IDENTITY_KEY_FILE, data_key

from . import compose
from .issuer import LocalIssuer
from .natsconf import seed_variable
from .nodes import NatsCluster
from .pgserver import ensure_database

log = logging.getLogger("paspor.cluster")


class LocalCluster:
    """The distributed topology of compose.yaml, as processes on this machine."""

    def __init__(
        self,
        data_dir: Path,
        postgres_url: str,
        compose_path: Path | None = None,
        *,
        sync: str = "always",
        env: dict[str, str] | None = None,
    ) -> None:
        self.data_dir = data_dir.resolve()
        self.postgres_url = postgres_url
        self.file = compose.load(compose_path or compose.default_path())
        self.issuer = LocalIssuer(self._folder("issuer"))
        self.keys = KeyFolder(self.data_dir / KEYS_FOLDER)
        partitions = max(
            int(spec.environment.get("PASPOR_PARTITIONS", DEFAULT_PARTITIONS))
            for spec in compose.paspor_services(self.file, self._variables())
        )
        self.nats = NatsCluster(self.data_dir / "nats", compose.nats_nodes(self.file), sync, self.keys, partitions)
        self.extra_env = env or {}
        self.specs = {spec.name: spec for spec in compose.paspor_services(self.file, self._variables(), self._rewrite)}
        self.ports = {name: free_port() for name, spec in self.specs.items() if spec.kind == "gateway"}
        self.processes: dict[str, subprocess.Popen[bytes]] = {}

    def _folder(self, name: str) -> Path:
        folder = self.data_dir / name
        folder.mkdir(parents=True, exist_ok=True)
        return folder

    def _variables(self) -> dict[str, str]:
        """What compose would take from the operator's environment."""
        return {
            "PASPOR_CIPHER_KEY": data_key(self.data_dir, "store-cipher.key"),
            "PASPOR_IDENTITY_KEY": data_key(self.data_dir, IDENTITY_KEY_FILE),
            "PASPOR_QUOTA_DRAW_KEY": data_key(self.data_dir, "draw.key"),
            "PASPOR_GATEWAY_ISSUERS": self.issuer.trusted_issuers(),
        } | {seed_variable(service): self.keys.seed(service) for service in SERVICES}

    def _rewrite(self, value: str) -> str:
        """Container host names to the local nodes' addresses."""
        for name, node in self.nats.nodes.items():
            value = value.replace(f"nats://{name}:4222", node.url)
        return value

    def login(self, user: str) -> NatsLogin:
        """How a process logs in to the cluster's NATS as one of its users (tests, tools)."""
        return NatsLogin(nats_user=user, nats_nkey_file=self.keys.path(user))

    @property
    def gateway_urls(self) -> list[str]:
        return [f"http://127.0.0.1:{port}" for port in self.ports.values()]

    def environment(self, name: str) -> dict[str, str]:
        """One service's environment: compose's, with local addresses and folders."""
        env = dict(self.specs[name].environment)
        env["PASPOR_POSTGRES_URL"] = self.postgres_url
        env["PASPOR_DATA_DIR"] = str(self._folder(f"services/{name}"))
        if name in self.ports:
            env |= {"PASPOR_GATEWAY_HOST": "127.0.0.1", "PASPOR_GATEWAY_PORT": str(self.ports[name])}
        return env | self.extra_env

    def start(self, timeout: float = 90) -> None:
        ensure_database(self.postgres_url)
        self.nats.start()
        log.info("NATS cluster up: %s", ", ".join(self.nats.urls))
        for name in self.specs:
            self.start_service(name)
        self.wait_ready(list(self.specs), timeout)

    def start_service(self, name: str) -> None:
        log_path = self._folder("logs") / f"{name}.log"
        command = [sys.executable, "-m", "paspor", *self.specs[name].command]
        with open(log_path, "ab") as output:
            self.processes[name] = subprocess.Popen(
                command,
                env=os.environ | self.environment(name),
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
                preexec_fn=die_with_parent,
                start_new_session=True,
            )

    def log_path(self, name: str) -> Path:
        return self.data_dir / "logs" / f"{name}.log"

    def ready(self, name: str) -> bool:
        if name in self.ports:
            try:
                return httpx.get(f"http://127.0.0.1:{self.ports[name]}/ready", timeout=1).status_code == 200
            except httpx.HTTPError:
                return False
        text = self.log_path(name).read_text(errors="replace")
        return text.rfind(f"{self.specs[name].kind} ready") > text.rfind(f"{self.specs[name].kind} stopped")

    def wait_ready(self, names: list[str], timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.check_processes()
            if all(self.ready(name) for name in names):
                return
            time.sleep(0.2)
        raise RuntimeError(f"services not ready in {timeout:.0f}s: {[n for n in names if not self.ready(n)]}")

    def check_processes(self) -> None:
        """Raise if a service died (its log in <data>/logs says why)."""
        for name, process in self.processes.items():
            if process.poll() is not None:
                raise RuntimeError(f"service {name} exited with code {process.returncode}; see {self.log_path(name)}")

    def kill_service(self, name: str) -> None:
        """SIGKILL one service process: a crash."""
        process = self.processes.pop(name)
        process.kill()
        process.wait()

    def stop(self) -> None:
        """Gateways first, then the other services, then NATS."""
        order = sorted(self.processes, key=lambda n: self.specs[n].kind != "gateway")
        stop_services([(name, self.processes[name]) for name in order])
        self.processes.clear()
        self.nats.stop()
