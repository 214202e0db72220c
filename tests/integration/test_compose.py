"""compose.yaml describes the distributed deployment, and its services' commands really run it.

No container engine here: the file is checked for its structure, then every `paspor` service it
declares is started as a local process (`paspor cluster up`'s LocalCluster) against a 3-node NATS
cluster and PostgreSQL, and a citizen books through one gateway and reads through the other.
"""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import nats
import pytest
from support import bookable_day, booking_body, device_key, signing, temporary_database

from paspor.cluster import compose
from paspor.cluster.local import LocalCluster
from paspor.cluster.natsconf import AUTH_FILE, NodeConfig, auth_file, public_variable, routes, seed_variable
from shared.runtime.permissions import SERVICES as NATS_SERVICES
from shared.runtime.permissions import USERS

ROOT = Path(__file__).resolve().parents[2]
FILE = compose.load(ROOT / "compose.yaml")
SERVICES = FILE["services"]
VARIABLES = {
    "PASPOR_CIPHER_KEY": "k",
    "PASPOR_IDENTITY_KEY": "k",
    "PASPOR_QUOTA_DRAW_KEY": "k",
    "PASPOR_GATEWAY_ISSUERS": "[]",
} | {seed_variable(service): f"seed-of-{service}" for service in NATS_SERVICES}
SPECS = compose.paspor_services(FILE, VARIABLES)


def kinds() -> dict[str, int]:
    counted: dict[str, int] = {}
    for spec in SPECS:
        counted[spec.kind] = counted.get(spec.kind, 0) + 1
    return counted


def test_the_deployment_has_three_nats_nodes_postgres_and_replicated_services():
    assert compose.nats_nodes(FILE) == ["nats1", "nats2", "nats3"]
    assert "postgres" in SERVICES
    assert kinds()["quota"] >= 2 and kinds()["booking"] == 2 and kinds()["notifier"] == 1 and kinds()["gateway"] == 2
    assert all(spec.command[0] == "service" for spec in SPECS), "every service runs a `paspor service` command"


def test_every_nats_node_routes_to_all_three_and_fsyncs_before_acknowledging():
    nodes = compose.nats_nodes(FILE)
    for name in nodes:
        mount = next(v for v in SERVICES[name]["volumes"] if v.endswith(":/etc/nats/nats.conf:ro"))
        text = (ROOT / mount.split(":")[0]).read_text()
        expected = NodeConfig(name, "0.0.0.0", 4222, 6222, 8222, "/data/jetstream", routes([(n, 6222) for n in nodes]))
        assert text.split("\n", 1)[1] == expected.render(), f"{mount} is what natsconf renders"
        assert "sync_interval: always" in text
        assert re.findall(r"nats-route://(\w+):6222", text) == nodes
        assert f"{name}:/data" in SERVICES[name]["volumes"], "its JetStream store survives the container"


def test_every_nats_node_lets_in_only_the_systems_users_with_the_permissions_of_the_wire_contract():
    partitions = int(SPECS[0].environment["PASPOR_PARTITIONS"])
    assert (ROOT / "deploy/nats" / AUTH_FILE).read_text() == auth_file(partitions), "what natsconf renders"
    for name in compose.nats_nodes(FILE):
        assert f"./deploy/nats/{AUTH_FILE}:/etc/nats/{AUTH_FILE}:ro" in SERVICES[name]["volumes"]
        assert f"include {AUTH_FILE}" in (ROOT / f"deploy/nats/{name}.conf").read_text()
        environment = SERVICES[name]["environment"]
        assert {key: value.split(":?")[0] for key, value in environment.items()} == {
            public_variable(user): "${" + public_variable(user) for user in USERS
        }, "every user's public key, from the operator's .env"


def test_each_service_logs_in_to_nats_as_its_own_user_with_its_own_seed():
    for spec in SPECS:
        assert spec.environment["PASPOR_NATS_USER"] == spec.kind, spec.name
        assert spec.environment["PASPOR_NATS_NKEY_SEED"] == f"seed-of-{spec.kind}", spec.name


def test_streams_are_replicated_once_per_node_and_services_reach_every_node():
    for spec in SPECS:
        assert spec.environment["PASPOR_STREAM_REPLICAS"] == str(len(compose.nats_nodes(FILE)))
        assert spec.environment["PASPOR_NATS_URL"].split(",") == [f"nats://{n}:4222" for n in compose.nats_nodes(FILE)]
        assert spec.environment["PASPOR_EVENT_STORE"] == "postgres"


def test_the_quota_workers_share_every_partition_exactly_once():
    owned = [
        p
        for spec in SPECS
        if spec.kind == "quota"
        for p in spec.environment["PASPOR_QUOTA_PARTITIONS_OWNED"].split(",")
    ]
    partitions = int(SPECS[0].environment["PASPOR_PARTITIONS"])
    assert sorted(int(p) for p in owned) == list(range(partitions))


def test_every_service_has_a_health_check_a_restart_policy_and_its_volumes():
    for name, service in SERVICES.items():
        assert service["healthcheck"]["test"][0] in ("CMD", "CMD-SHELL"), name
        assert service["restart"] == "unless-stopped", name
    for spec in SPECS:
        assert SERVICES[spec.name]["healthcheck"]["test"][1:4] == ["paspor", "cluster", "health"]
        if spec.kind != "gateway":
            assert all(
                SERVICES[spec.name]["depends_on"][d]["condition"] == "service_healthy"
                for d in ("nats1", "nats2", "nats3", "postgres")
            )
    assert "postgres:/var/lib/postgresql/data" in SERVICES["postgres"]["volumes"]
    assert "notifier-keys:/data/keys" in SERVICES["notifier"]["volumes"], "the ticket signing key survives"


def test_the_connection_pools_fit_postgres_max_connections():
    with_store = [s for s in SPECS if s.kind != "gateway"]
    pools = sum(int(s.environment["PASPOR_POSTGRES_POOL_SIZE"]) for s in with_store)
    setting = next(c for c in SERVICES["postgres"]["command"] if c.startswith("max_connections="))
    max_connections = int(setting.split("=")[1])
    assert pools <= max_connections // 2, "room left for operators, restarts and a new worker"


def test_the_image_runs_the_paspor_cli():
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert 'ENTRYPOINT ["paspor"]' in dockerfile
    assert all(str(SERVICES[s.name]["image"]).startswith("antrian-paspor") for s in SPECS)
    assert ".venv" in (ROOT / ".dockerignore").read_text().split()


@pytest.fixture(scope="module")
def cluster_database(postgres_admin: str) -> Iterator[str]:
    with temporary_database(postgres_admin) as url:
        yield url


@pytest.fixture(scope="module")
def cluster(cluster_database: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCluster]:
    running = LocalCluster(tmp_path_factory.mktemp("cluster"), cluster_database, ROOT / "compose.yaml")
    try:
        running.start()
        yield running
    finally:
        running.stop()


def test_compose_commands_run_as_local_processes_and_serve_a_booking_across_gateways(cluster: LocalCluster):
    assert sorted(cluster.processes) == sorted(s.name for s in SPECS)
    first, second = cluster.gateway_urls
    token = cluster.issuer.token("siti@example.com")
    headers = {"Authorization": f"Bearer {token}", "X-Device-Id": device_key("phone-siti-0001").thumbprint}
    with signing(httpx.Client(timeout=30)) as client:
        version = client.get(f"{first}/v1/me/terms", headers=headers).json()["current_version"]
        client.post(f"{second}/v1/me/terms", json={"version": version}, headers=headers).raise_for_status()
        booked = client.post(
            f"{first}/v1/bookings",
            json=booking_body("GRESIK", bookable_day(5), "pagi", 1),
            headers=headers | {"Idempotency-Key": "siti-first-try"},
        )
        assert booked.status_code in (201, 202), booked.text
        seen = follow(client, f"{second}/v1/bookings/{booked.json()['booking_id']}", headers)
    assert (seen["status"], seen["queue_number"]) == ("confirmed", 1), (
        "decided by a quota worker, seen by the other gateway"
    )


def follow(client: httpx.Client, url: str, headers: dict[str, str], timeout: float = 30) -> dict:
    """The booking once decided (or as it is when time runs out)."""
    deadline = time.monotonic() + timeout
    while True:
        answer = client.get(url, headers=headers)
        assert answer.status_code == 200, answer.text
        if answer.json()["status"] != "requested" or time.monotonic() > deadline:
            return answer.json()
        time.sleep(0.3)


def test_the_gateways_refuse_their_development_issuer(cluster: LocalCluster):
    answer = httpx.post(f"{cluster.gateway_urls[0]}/v1/dev/token", json={"subject": "x"}, timeout=10)
    assert answer.status_code in (403, 404)


def test_streams_consumers_and_buckets_have_three_replicas(cluster: LocalCluster):
    async def replicas() -> dict[str, int]:
        # listing every stream and consumer is maintenance: the admin key
        nc = await nats.connect(servers=cluster.nats.urls, **cluster.login("admin").connect_options())
        js = nc.jetstream()
        found = {s.config.name: s.config.num_replicas for s in await js.streams_info()}
        found |= {
            f"consumer {c.name}": c.config.num_replicas or found["PASPOR_BOOKING"]
            for c in await js.consumers_info("PASPOR_BOOKING")
        }
        await nc.close()
        return found

    found = asyncio.run(replicas())
    assert {"PASPOR_BOOKING", "PASPOR_QUOTA", "KV_paspor_relay", "KV_paspor_availability"} <= set(found)
    assert set(found.values()) == {3}, found
    assert "consumer quota-p00" in found and "consumer quota-p07" in found, "both workers consume"


def test_a_service_container_health_check_passes_with_its_environment(cluster: LocalCluster):
    env = os.environ | cluster.environment("quota-1")
    result = subprocess.run(
        [sys.executable, "-m", "paspor", "cluster", "health"], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stdout + result.stderr
    broken = env | {"PASPOR_POSTGRES_URL": "postgresql://postgres@127.0.0.1:1/none"}
    result = subprocess.run(
        [sys.executable, "-m", "paspor", "cluster", "health"], env=broken, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 1 and "PostgreSQL unreachable" in result.stdout
