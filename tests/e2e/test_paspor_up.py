"""`paspor up` starts the whole system, stops it cleanly, and resumes from its data folder."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from support import bookable_day, booking_body, sign_in, signing

from paspor.natsserver import free_port


def start_up(data_dir: Path, port: int) -> subprocess.Popen[str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "paspor", "up", "--data-dir", str(data_dir), "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # its own process group: a failed story can stop all it started
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"paspor up exited early:\n{process.stdout.read()}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/ready", timeout=1).status_code == 200:
                return process
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    said = kill_all(process)[-6000:]
    pytest.fail(f"paspor up did not become ready in 60 s; it said:\n{said}")


@contextlib.contextmanager
def running_up(data_dir: Path, port: int) -> Iterator[subprocess.Popen[str]]:
    """`paspor up`, stopped at the end whatever the story did: a story that fails half-way leaves no
    services or nats-server behind to slow the rest of the suite."""
    process = start_up(data_dir, port)
    try:
        yield process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.communicate(timeout=60)
            except subprocess.TimeoutExpired:
                kill_all(process)


def kill_all(process: subprocess.Popen[str]) -> str:
    """Kill `paspor up` and everything it started; what it had said."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    return process.communicate()[0] or ""


def stop_up(process: subprocess.Popen[str], how: int = signal.SIGINT) -> str:
    process.send_signal(how)
    output, _ = process.communicate(timeout=60)
    assert process.returncode == 0, output
    return output


def processes_using(data_dir: Path) -> list[str]:
    """Command lines of live processes that mention the data folder (nats-server's store)."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if str(data_dir) in cmdline and "pytest" not in cmdline:
            found.append(cmdline)
    return found


def test_up_prints_its_addresses_stops_cleanly_and_resumes_with_bookings_intact(tmp_path):
    data_dir, port = tmp_path / "data", free_port()
    with running_up(data_dir, port) as process:
        with signing(httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30)) as client:
            citizen = sign_in(client, "resume@example.com")
            booked = client.post(
                "/v1/bookings",
                json=booking_body("JKT-SEL", bookable_day(5), "siang", serial=77),
                headers=citizen.headers("resume-key-0001"),
            ).json()
        output = stop_up(process, signal.SIGTERM)
    assert f"http://127.0.0.1:{port}" in output and "nats://127.0.0.1:" in output
    assert processes_using(data_dir) == [], "no nats-server or service may outlive paspor up"

    with running_up(data_dir, port) as process:
        with signing(httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30)) as client:
            citizen = sign_in(client, "resume@example.com")
            again = client.get(f"/v1/bookings/{booked['booking_id']}", headers=citizen.headers()).json()
            ticket = issued_ticket(client, citizen, booked["booking_id"])
        output = stop_up(process)
    assert "resuming from data folder" in output
    assert again["status"] == "confirmed" and again["queue_number"] == booked["queue_number"]
    assert ticket.status_code == 200
    assert processes_using(data_dir) == []


def issued_ticket(client: httpx.Client, citizen, booking_id: str, patience: float = 15.0) -> httpx.Response:  # noqa: ANN001
    """The ticket, once the notifier (catching up after a restart) has issued it."""
    deadline = time.monotonic() + patience
    while True:
        ticket = client.get(f"/v1/bookings/{booking_id}/ticket", headers=citizen.headers())
        if ticket.status_code != 404 or time.monotonic() > deadline:
            return ticket
        time.sleep(0.2)


def test_up_refuses_a_second_instance_on_the_same_data_folder(tmp_path):
    data_dir, port = tmp_path / "data", free_port()
    with running_up(data_dir, port):
        second = subprocess.run(
            [sys.executable, "-m", "paspor", "up", "--data-dir", str(data_dir), "--port", str(free_port())],
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert second.returncode == 1
    assert "another `paspor up` is running" in second.stdout


def test_up_help_explains_the_options():
    result = subprocess.run([sys.executable, "-m", "paspor", "up", "--help"], capture_output=True, text=True)
    assert result.returncode == 0
    for option in ("--data-dir", "--port", "--nats-port"):
        assert option in result.stdout


def children_of(pid: int) -> dict[str, int]:
    """The service processes `paspor up` started, by service name."""
    found = {}
    for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split():
        cmdline = Path(f"/proc/{child}/cmdline").read_bytes().split(b"\0")
        if b"service" in cmdline:
            found[cmdline[cmdline.index(b"service") + 1].decode()] = int(child)
    return found


def test_up_restarts_a_service_that_died_and_bookings_go_on(tmp_path):
    data_dir, port = tmp_path / "data", free_port()
    with running_up(data_dir, port) as process:
        os.kill(children_of(process.pid)["quota"], signal.SIGKILL)
        deadline = time.monotonic() + 30
        while "quota" not in children_of(process.pid) and time.monotonic() < deadline:
            time.sleep(0.2)
        try:
            with signing(httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30)) as client:
                citizen = sign_in(client, "after-crash@example.com")
                booked = client.post(
                    "/v1/bookings",
                    json=booking_body("JKT-SEL", bookable_day(5), "pagi", serial=78),
                    headers=citizen.headers("after-crash-key"),
                ).json()
                while booked["status"] == "requested" and time.monotonic() < deadline:
                    time.sleep(0.2)
                    booked = client.get(f"/v1/bookings/{booked['booking_id']}", headers=citizen.headers()).json()
        except httpx.HTTPError as error:
            said = kill_all(process)[-6000:]
            pytest.fail(f"the gateway stopped answering ({error!r}); paspor up said:\n{said}")
        output = stop_up(process)
    assert "service quota exited with code -9; restarting it" in output
    assert booked["status"] == "confirmed"
