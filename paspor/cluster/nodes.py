"""The local NATS cluster: three nats-server processes routed together on loopback ports.

With a key folder, every node lets in only the system's users (`auth.conf`, as in compose, each
public key given in the node's environment); without one (a benchmark's own cluster), anyone.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import time
from pathlib import Path

import httpx

from paspor.embedded import die_with_parent
from paspor.natsserver import NatsServerError, _jetstream_ready, binary, free_port
from shared.events import DEFAULT_PARTITIONS
from shared.runtime.natsauth import KeyFolder, NatsLogin
from shared.runtime.permissions import USERS

from .natsconf import AUTH_FILE, NodeConfig, auth_file, public_variable, routes


class ClusterNode:
    """One nats-server of the cluster, with its config file, store and log in its own folder."""

    def __init__(self, name: str, folder: Path, config: NodeConfig, env: dict[str, str] | None = None) -> None:
        self.name, self.folder, self.config = name, folder, config
        self.env = env or {}  # the users' public keys (NATS_PUB_<USER>) that auth.conf reads
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.config.client_port}"

    def start(self) -> None:
        path = self.config.write(self.folder / f"{self.name}.conf")
        log = self.folder / f"{self.name}.log"
        self.process = subprocess.Popen(
            [binary(), "-c", str(path), "-l", str(log)],
            env=os.environ | self.env,
            stdin=subprocess.DEVNULL,
            preexec_fn=die_with_parent,
            start_new_session=True,
        )

    def healthy(self) -> bool:
        """JetStream on this node is up and current with the cluster (what compose's health check asks)."""
        if self.process is None or self.process.poll() is not None:
            return False
        try:
            url = f"http://127.0.0.1:{self.config.monitor_port}/healthz?js-enabled-only=true"
            return httpx.get(url, timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    def kill(self) -> None:
        """SIGKILL: a crash, no goodbye."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def stop(self, timeout: float = 15) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill()


class NatsCluster:
    """Three (or more) nodes that form one JetStream cluster."""

    def __init__(
        self,
        folder: Path,
        names: list[str],
        sync: str = "always",
        keys: KeyFolder | None = None,
        partitions: int = DEFAULT_PARTITIONS,
    ) -> None:
        ports = {name: (free_port(), free_port(), free_port()) for name in names}
        peers = routes([("127.0.0.1", ports[name][1]) for name in names])
        self.partitions, self.keys = partitions, keys
        self.login: NatsLogin | None = None  # who asks whether JetStream is ready (with keys: the auditor)
        env = {public_variable(u): k for u, k in keys.public_keys(USERS).items()} if keys is not None else {}
        self.nodes = {
            name: ClusterNode(
                name,
                folder / name,
                NodeConfig(
                    name,
                    "127.0.0.1",
                    client,
                    cluster,
                    monitor,
                    str(folder / name / "jetstream"),
                    peers,
                    sync,
                    authorized=keys is not None,
                ),
                env,
            )
            for name, (client, cluster, monitor) in ports.items()
        }
        if keys is not None:
            self.login = NatsLogin(nats_user="auditor", nats_nkey_file=keys.path("auditor"))

    @property
    def urls(self) -> list[str]:
        return [node.url for node in self.nodes.values()]

    def start(self, timeout: float = 60) -> None:
        """Start every node, then wait until each is healthy (a lone node cannot elect a leader)."""
        for node in self.nodes.values():
            if self.keys is not None:
                (node.folder / AUTH_FILE).parent.mkdir(parents=True, exist_ok=True)
                (node.folder / AUTH_FILE).write_text(auth_file(self.partitions))
            node.start()
        self.wait_healthy(list(self.nodes), timeout)

    def wait_healthy(self, names: list[str], timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            # healthy nodes, and a JetStream meta leader elected (a stream can be created)
            if all(self.nodes[name].healthy() for name in names) and asyncio.run(
                _jetstream_ready(self.nodes[names[0]].url, self.login)
            ):
                return
            for name in names:
                process = self.nodes[name].process
                if process is not None and process.poll() is not None:
                    raise NatsServerError(f"nats-server {name} exited with {process.returncode}")
            time.sleep(0.2)
        raise NatsServerError(f"NATS nodes {names} did not become healthy in {timeout:.0f}s")

    def stop(self) -> None:
        for node in self.nodes.values():
            node.stop()
