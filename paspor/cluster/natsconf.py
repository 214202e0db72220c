"""nats-server configuration of one cluster node: JetStream with durable writes, routes to its peers.

`sync_interval: always` makes every node fsync a JetStream write before it acknowledges it. A
publish to a stream replicated 3 times is acknowledged once 2 of the 3 nodes hold it; with
`always` each of those 2 has it on disk, so an acknowledged write survives even the crash of a
whole machine (power loss), not only of the nats-server process. The cost is one fsync per
write (per batch of writes that arrive together): see docs/deployment.md for the figures.

Every node includes `auth.conf`: the NATS users and their permissions, rendered from
`shared/runtime/permissions.py` with each user's public key read from the node's environment
(`NATS_PUB_<USER>`), so one file serves every deployment and holds no key.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from shared.runtime.permissions import USERS, authorization

CLUSTER_NAME = "paspor"
SYNC_CHOICES = ("always", "default")
AUTH_FILE = "auth.conf"  # beside each node's configuration
AUTH_HEADER = (
    "# Generated from shared/runtime/permissions.py by paspor/cluster/natsconf.py"
    " (tests/integration/test_compose.py checks it).\n"
)


def public_variable(user: str) -> str:
    """The environment variable a node reads a user's public key from."""
    return f"NATS_PUB_{user.upper()}"


def seed_variable(user: str) -> str:
    """The variable compose reads a service's nkey seed from (kept by the operator, like PASPOR_CIPHER_KEY)."""
    return f"NATS_KEY_{user.upper()}"


def auth_file(partitions: int) -> str:
    """`auth.conf`: every user with its grant, each public key a `$NATS_PUB_<USER>` variable."""
    return AUTH_HEADER + authorization({user: "$" + public_variable(user) for user in USERS}, partitions)


@dataclass(frozen=True)
class NodeConfig:
    """Where one node listens and who its peers are."""

    name: str
    host: str
    client_port: int
    cluster_port: int
    monitor_port: int
    store_dir: str
    routes: Sequence[str]  # nats-route://host:port of every node (a node skips its own)
    sync: str = "always"
    authorized: bool = True  # include auth.conf (users and permissions)

    def render(self) -> str:
        if self.sync not in SYNC_CHOICES:
            raise ValueError(f"sync must be one of {SYNC_CHOICES} (got {self.sync!r})")
        sync_line = "  sync_interval: always\n" if self.sync == "always" else ""
        routes = "\n".join(f"    {route}" for route in self.routes)
        auth_line = f"include {AUTH_FILE}\n" if self.authorized else ""
        return (
            f"server_name: {self.name}\n"
            f"listen: {self.host}:{self.client_port}\n"
            f"http: {self.host}:{self.monitor_port}\n"
            "jetstream {\n"
            f"  store_dir: {self.store_dir!r}\n"
            f"{sync_line}"
            "}\n"
            "cluster {\n"
            f"  name: {CLUSTER_NAME}\n"
            f"  listen: {self.host}:{self.cluster_port}\n"
            "  routes: [\n"
            f"{routes}\n"
            "  ]\n"
            "}\n"
            f"{auth_line}"
        )

    def write(self, path: Path) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(self.render())
        return path


def routes(hosts_and_ports: Sequence[tuple[str, int]]) -> list[str]:
    return [f"nats-route://{host}:{port}" for host, port in hosts_and_ports]
