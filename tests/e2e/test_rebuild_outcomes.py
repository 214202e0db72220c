"""The decisions stream purged on a running system: `paspor rebuild outcomes` publishes it again from the quota store.

Citizens booked (one cancelled since); then every message of `PASPOR_QUOTA` is purged, as a mistaken
`nats stream purge` would. The audit with `--jetstream` finds the decisions in no stream. The operator
runs `paspor rebuild outcomes`: each partition's worker publishes its stored decisions again, the
booking service ignores what it recorded already (the cancelled booking stays cancelled), and the
audit is clean again.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path

import httpx
import nats
from support import bookable_day, booking_body, sign_in, signing, wait_until
from typer.testing import CliRunner

from paspor.audit import Scope, run_audit
from paspor.audit.jetstream import cross_check_streams
from paspor.cli import app as cli
from paspor.embedded import EmbeddedSystem
from paspor.natsserver import free_port
from services.booking.main import BookingSettings

OFFICE = "GRESIK"


def audit(system: EmbeddedSystem):  # noqa: ANN201
    settings = BookingSettings(data_dir=system.data_dir, event_store="sqlite")
    result = run_audit(settings, Scope(grace=dt.timedelta(0)))
    cross_check_streams(settings, result, system.nats.url, grace=dt.timedelta(0))
    return result


async def purge(system: EmbeddedSystem, stream: str) -> None:
    nc = await nats.connect(system.nats.url, **system.login("admin").connect_options())
    try:
        await nc.jetstream().purge_stream(stream)
    finally:
        await nc.close()


def test_a_purged_decisions_stream_is_published_again_and_no_booking_changes(tmp_path: Path):
    day = bookable_day(4)
    system = EmbeddedSystem(tmp_path / "system", gateway_port=free_port())
    system.start()
    try:
        with signing(httpx.Client(base_url=system.gateway_url, timeout=30)) as client:
            citizens = [sign_in(client, f"ro-{i}@example.com") for i in range(3)]
            for i, citizen in enumerate(citizens):
                answer = client.post(
                    "/v1/bookings",
                    json=booking_body(OFFICE, day, "pagi", 40 + i),
                    headers=citizen.headers(f"rebuild-{i:04d}"),
                )
                assert answer.json()["status"] == "confirmed", answer.text
            first = client.get("/v1/bookings", headers=citizens[0].headers()).json()[0]
            client.post(f"/v1/bookings/{first['booking_id']}/cancel", headers=citizens[0].headers()).raise_for_status()

            def bookings() -> dict:
                return {c.subject: client.get("/v1/bookings", headers=c.headers()).json() for c in citizens}

            wait_until(lambda: audit(system).ok, 60, "the history is published and audited clean")
            before = bookings()
            asyncio.run(purge(system, "PASPOR_QUOTA"))
            purged = audit(system)

            rebuilt = CliRunner().invoke(
                cli, ["rebuild", "outcomes", "--nats-url", system.nats.url, "--data-dir", str(system.data_dir)]
            )
            wait_until(lambda: audit(system).ok, 60, "every decision is in the stream again")
            after = bookings()
    finally:
        system.stop()

    missing = [f for f in purged.findings if f.code == "unpublished_event"]
    assert any("SlotsDecided" in f.detail for f in missing), [f.as_dict() for f in purged.findings[:5]]
    assert rebuilt.exit_code == 0, rebuilt.output
    assert "no worker answered" not in rebuilt.output and "events published" in rebuilt.output
    assert after == before, "the bookings are as they were: the cancelled one stays cancelled"
    assert [b["status"] for c in citizens for b in before[c.subject]] == ["cancelled", "confirmed", "confirmed"]
