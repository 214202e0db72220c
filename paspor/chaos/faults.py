"""Crashing and restarting the local cluster's processes, one fault at a time.

A NATS node or a service is killed with SIGKILL; PostgreSQL (the run's private server) is shut down
`immediate`, as a crash. After its `down` seconds the process is started again and the fault is over
when it is back: a node healthy and current in JetStream, a worker's log saying it is ready again
(after where the log stood), a gateway answering /ready, PostgreSQL accepting connections.
A service that exits on its own is reported and started again, as compose's restart policy would.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from paspor.cluster.local import LocalCluster
from paspor.cluster.pgserver import PrivatePostgres

from .schedule import Fault

RECOVERY_SECONDS = 180.0


class NotRecovered(RuntimeError):
    """A crashed process did not come back in time: the run stops there."""


class Injector:
    """Applies faults to a running local cluster and its private PostgreSQL server."""

    def __init__(self, cluster: LocalCluster, postgres: PrivatePostgres, say: Callable[[str], None]) -> None:
        self.cluster, self.postgres, self.say = cluster, postgres, say
        self.unexpected_exits: list[tuple[float, str, int]] = []  # (when, service, exit code)

    @staticmethod
    def targets(cluster: LocalCluster) -> dict[str, list[str]]:
        """What may be crashed, by kind."""
        found: dict[str, list[str]] = {"nats": list(cluster.nats.nodes), "postgres": ["postgres"]}
        for name, spec in cluster.specs.items():
            found.setdefault(spec.kind, []).append(name)
        return found

    def apply(self, fault: Fault) -> float:
        """Crash, wait, restart, wait until back; returns the seconds from the crash until it was back."""
        crashed = time.monotonic()
        if fault.kind == "nats":
            self._nats(fault)
        elif fault.kind == "postgres":
            self.postgres.stop("immediate")
            time.sleep(fault.down)
            self.postgres.start()
        else:
            self._service(fault)
        return time.monotonic() - crashed

    def _nats(self, fault: Fault) -> None:
        node = self.cluster.nats.nodes[fault.target]
        node.kill()
        time.sleep(fault.down)
        node.start()
        try:
            self.cluster.nats.wait_healthy([fault.target], RECOVERY_SECONDS)
        except RuntimeError as error:
            raise NotRecovered(f"NATS node {fault.target}: {error}") from None

    def _service(self, fault: Fault) -> None:
        self.cluster.kill_service(fault.target)
        time.sleep(fault.down)
        self.restart(fault.target)

    def restart(self, name: str) -> None:
        """Start a service again and wait until it says it is ready (in the part of its log written since)."""
        log, kind = self.cluster.log_path(name), self.cluster.specs[name].kind
        offset = log.stat().st_size if log.exists() else 0
        self.cluster.start_service(name)
        deadline = time.monotonic() + RECOVERY_SECONDS
        while time.monotonic() < deadline:
            if self.cluster.processes[name].poll() is not None:
                raise NotRecovered(f"{name} exited with {self.cluster.processes[name].returncode} while starting")
            if self._ready(name, kind, log, offset):
                return
            time.sleep(0.2)
        raise NotRecovered(f"{name} not ready {RECOVERY_SECONDS:.0f}s after its restart; see {log}")

    def _ready(self, name: str, kind: str, log, offset: int) -> bool:  # noqa: ANN001
        if kind == "gateway":
            return self.cluster.ready(name)
        with open(log, "rb") as text:
            text.seek(offset)
            return f"{kind} ready".encode() in text.read()

    def revive(self, now: float) -> None:
        """Start again any service that exited by itself (none was being crashed just now)."""
        for name, process in list(self.cluster.processes.items()):
            if process.poll() is not None:
                self.unexpected_exits.append((now, name, process.returncode))
                self.say(f"[red]{name} exited by itself with code {process.returncode}[/red]; starting it again")
                self.restart(name)
