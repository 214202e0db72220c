"""Load helpers for `paspor bench gateway`: a second gateway without the read model, citizens, timed bursts."""

from __future__ import annotations

import asyncio
import json as jsonlib
import os
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from paspor.embedded import EmbeddedSystem, die_with_parent
from paspor.natsserver import free_port
from shared import clock
from shared.device_keys import DeviceKey

UNLIMITED = {
    "PASPOR_GATEWAY_RATE_ADDRESS": "1000000",
    "PASPOR_GATEWAY_RATE_ACCOUNT": "1000000",
    "PASPOR_GATEWAY_RATE_DEVICE": "1000000",
    "PASPOR_GATEWAY_ADMISSION_ACCOUNT": "1000000",  # booking budgets: counted as always, never spent here
    "PASPOR_GATEWAY_ADMISSION_ADDRESS": "1000000",
    "PASPOR_GATEWAY_OUTCOME_WAIT": "10",
}


def conventional_gateway(
    system: EmbeddedSystem, folder: Path, settings: dict[str, str] | None = None, name: str = "conventional"
) -> tuple[subprocess.Popen[bytes], str]:
    """A second gateway on the same system (logged in as the gateway), by default without the read model:
    calendar and refusals from the services; `settings` (PASPOR_...) make it another variant."""
    port = free_port()
    env = (
        os.environ
        | system.keys.environment("gateway")
        | UNLIMITED
        | system.extra_env
        | {
            "PASPOR_NATS_URL": system.nats.url,
            "PASPOR_NATS_USER": "gateway",  # NATS authentication is on: the gateway's own key
            "PASPOR_NATS_NKEY_FILE": str(system.keys.path("gateway")),
            "PASPOR_DATA_DIR": str(system.data_dir),
            "PASPOR_GATEWAY_PORT": str(port),
            "PASPOR_GATEWAY_DEV_ISSUER": "true",
        }
        | (settings if settings is not None else {"PASPOR_GATEWAY_READ_MODEL": "false"})
    )
    with open(folder / f"gateway-{name}.log", "wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "paspor", "service", "gateway"],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            preexec_fn=die_with_parent,
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 180  # a busy shared machine starts a gateway slowly
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/ready", timeout=1).status_code == 200:
                return process, url
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    process.kill()
    raise RuntimeError(f"the {name} gateway did not become ready (see {folder}/gateway-{name}.log)")


@dataclass
class Burst:
    """Requests answered in one timed burst."""

    name: str
    statuses: dict[int, int] = field(default_factory=dict)
    latencies_ms: list[float] = field(default_factory=list)
    seconds: float = 0.0
    server_cpu: dict[str, float] = field(default_factory=dict)  # CPU seconds of each server process
    client_cpu: float = 0.0  # CPU seconds of the load generator (this process)

    @property
    def server_ms_per_request(self) -> float:
        """The servers' CPU (every process of the system) per answered request, in ms."""
        return sum(self.server_cpu.values()) * 1000 / len(self.latencies_ms) if self.latencies_ms else float("nan")

    @property
    def client_share(self) -> float:
        """The load generator's CPU, as a share of one core."""
        return self.client_cpu / self.seconds if self.seconds else 0.0

    @property
    def rate(self) -> float:
        return len(self.latencies_ms) / self.seconds if self.seconds else 0.0

    def percentile(self, p: float) -> float:
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))] if ordered else float("nan")


Request = tuple[str, str, dict[str, str], bytes]  # method, path?query, headers, body


def request(method: str, target: str, headers: dict[str, str] | None = None, json: object = None) -> Request:
    return method, target, headers or {}, b"" if json is None else jsonlib.dumps(json).encode()


class Connection:
    """A bare HTTP/1.1 keep-alive connection: httpx costs more CPU per request than the gateway itself."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, host: str) -> None:
        self.reader, self.writer, self.host = reader, writer, host

    @classmethod
    async def open(cls, url: str) -> Connection:
        host, port = url.removeprefix("http://").split(":")
        return cls(*await asyncio.open_connection(host, int(port)), host)

    async def send(self, method: str, target: str, headers: dict[str, str], body: bytes) -> int:
        key = DEVICES.get(headers.get("X-Device-Id", ""))
        if key is not None:  # a citizen's phone signs each request anew (its CPU is the client's)
            token = headers["Authorization"][7:]
            headers = headers | {"DPoP": key.proof(method, f"http://{self.host}{target}", token, clock.now())}
        lines = [
            f"{method} {target} HTTP/1.1",
            f"Host: {self.host}",
            f"Content-Length: {len(body)}",
            "Content-Type: application/json",
            *(f"{k}: {v}" for k, v in headers.items()),
        ]
        self.writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
        head = (await self.reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
        length = next(int(h.split(":", 1)[1]) for h in head if h.lower().startswith("content-length:"))
        await self.reader.readexactly(length)
        return int(head[0].split(" ")[1])

    def close(self) -> None:
        self.writer.close()


def cpu_seconds(pid: int) -> float:
    """A process's CPU time so far (user + system), from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def server_processes(system: EmbeddedSystem) -> dict[str, int]:
    """The system's processes by name (the services and nats-server), to measure their CPU."""
    pids = {name: child.pid for name, child in system.children.items()}
    if system.nats.process is not None:
        pids["nats-server"] = system.nats.process.pid
    return pids


async def burst(
    name: str, url: str, requests: list[Request], concurrency: int, servers: dict[str, int] | None = None
) -> Burst:
    """Send the requests, `concurrency` connections at a time; each sends its next when its last is answered.

    With `servers` (name -> pid), the CPU each of them spent during the burst is measured too.
    """
    result, queue = Burst(name), list(reversed(requests))
    servers = servers or {}
    server_before, client_before = {n: cpu_seconds(p) for n, p in servers.items()}, time.process_time()

    async def worker() -> None:
        connection = await Connection.open(url)
        try:
            while queue:
                started = time.perf_counter()
                status = await connection.send(*queue.pop())
                result.latencies_ms.append((time.perf_counter() - started) * 1000)
                result.statuses[status] = result.statuses.get(status, 0) + 1
        finally:
            connection.close()

    began = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    result.seconds = time.perf_counter() - began
    result.server_cpu = {n: cpu_seconds(p) - server_before[n] for n, p in servers.items()}
    result.client_cpu = time.process_time() - client_before
    return result


DEVICES: dict[str, DeviceKey] = {}  # the citizens' device keys, by device id (their thumbprints)


def signed(request: httpx.Request) -> None:
    """httpx hook: a device proof for a request of a bench citizen (its key named by X-Device-Id)."""
    key = DEVICES.get(request.headers.get("X-Device-Id", ""))
    if key is not None:
        token = request.headers["Authorization"][7:]
        request.headers["DPoP"] = key.proof(request.method, str(request.url), token, clock.now())


async def _signed(request: httpx.Request) -> None:
    signed(request)


async def citizens(client: httpx.AsyncClient, count: int, prefix: str, concurrency: int = 16) -> list[dict[str, str]]:
    """Signed-in citizens (token, device key, terms accepted): their headers (requests sent are signed)."""
    if _signed not in client.event_hooks["request"]:
        client.event_hooks = {**client.event_hooks, "request": [*client.event_hooks["request"], _signed]}
    signed: list[dict[str, str]] = []
    gate = asyncio.Semaphore(concurrency)

    async def one(i: int) -> None:
        async with gate:
            token = (await client.post("/v1/dev/token", json={"subject": f"{prefix}-{i}@bench"})).json()["access_token"]
            key = DeviceKey.named(f"bench-{prefix}-device-{i:06d}")
            DEVICES[key.thumbprint] = key
            headers = {"Authorization": f"Bearer {token}", "X-Device-Id": key.thumbprint}
            terms = (await client.get("/v1/me/terms", headers=headers)).json()["current_version"]
            (await client.post("/v1/me/terms", json={"version": terms}, headers=headers)).raise_for_status()
            signed.append(headers)

    await asyncio.gather(*(one(i) for i in range(count)))
    return signed


async def staff_token(client: httpx.AsyncClient, subject: str, role: str) -> dict[str, str]:
    token = (await client.post("/v1/dev/token", json={"subject": subject, "role": role})).json()["access_token"]
    return {"Authorization": f"Bearer {token}"}


async def until(check: Callable[[], Awaitable[bool]], seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while not await check():
        if time.monotonic() > deadline:
            raise TimeoutError("the read model never showed the change")
        await asyncio.sleep(0.05)
