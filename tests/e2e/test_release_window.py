"""A date released with a draw, through the gateway of a whole embedded system living just before the release.

The system's clock (`PASPOR_CLOCK_START`) starts a minute before a date's release, with a short draw
window (30 s before the release to 15 s after), so the story runs in real time: the quota worker's tick
commits the seed's hash, citizens who book in the window get 202 "waiting for the draw", the tick after
the window draws them and reveals the seed, their bookings are confirmed with queue numbers in draw
order, and the audit recomputes the draw and finds it clean.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import time
from zoneinfo import ZoneInfo

import httpx
import pytest
from support import SYSTEM_CLOCKS, bookable_day, booking_body, sign_in, wait_until

from paspor.audit import Scope, run_audit
from paspor.audit.records import open_store
from paspor.embedded import EmbeddedSystem
from paspor.natsserver import free_port
from services.booking.main import BookingSettings
from services.quota.draw import ReleaseDraw
from services.quota.main import QuotaSettings
from shared import clock
from shared.draw import draw_order

OFFICE = "SEMARANG"
DAY = bookable_day(75)
RELEASE = QuotaSettings().quota_release_time
OPENS = dt.datetime.combine(DAY - dt.timedelta(days=60), RELEASE, ZoneInfo("Asia/Jakarta")).astimezone(dt.UTC)
BEFORE, AFTER = dt.timedelta(seconds=30), dt.timedelta(seconds=15)


@pytest.fixture(scope="module")
def release(tmp_path_factory):
    """The system on its own clock: a minute before `DAY` is released at `OFFICE`."""
    env = {
        "PASPOR_CLOCK_START": (OPENS - dt.timedelta(seconds=60)).isoformat(),
        "PASPOR_CLOCK_STARTED": str(clock.wall_clock().timestamp()),  # when the system's clock reads that
        "PASPOR_QUOTA_DRAW_BEFORE_MINUTES": str(BEFORE.total_seconds() / 60),
        "PASPOR_QUOTA_DRAW_AFTER_MINUTES": str(AFTER.total_seconds() / 60),
    }
    system = EmbeddedSystem(tmp_path_factory.mktemp("release"), gateway_port=free_port(), env=env)
    started = time.monotonic()
    system.start()
    system_now = lambda: OPENS - dt.timedelta(seconds=60) + dt.timedelta(seconds=time.monotonic() - started)  # noqa: E731
    SYSTEM_CLOCKS[system.gateway_url.split("://", 1)[1]] = system_now  # device proofs dated by its clock
    yield system, system_now
    system.stop()


def signed_in(client: httpx.Client, subject: str, seconds: float = 60):
    """`sign_in`, once the booking service answers (a fresh system's services start at their own pace)."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            return sign_in(client, subject)
        except httpx.HTTPStatusError as error:
            if error.response.status_code != 503 or time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def stored_draw(data_dir):
    """The draw's events as the quota store holds them: (committed state, joined ids, order, seed)."""
    reader = open_store(BookingSettings(data_dir=data_dir, event_store="sqlite"), "quota")
    try:
        draw_id = ReleaseDraw.id_for(OFFICE, DAY).hex  # every office's date has its draw: this one's
        records = [r for r in reader.records() if r.aggregate_id == draw_id]
    finally:
        reader.close()
    by_kind = {r.kind: r.state for r in records}
    joined = [e["booking_id"] for r in records if r.kind == "ReleaseDraw.Joined" for e in r.state["entries"]]
    return by_kind, joined


def test_citizens_in_the_release_window_wait_for_the_draw_and_are_confirmed_in_its_order(release):
    system, system_now = release
    with httpx.Client(base_url=system.gateway_url, timeout=30) as client:
        citizens = [signed_in(client, f"draw-{i}@example.com") for i in range(5)]
        # The worker's tick (each second, once it holds its partitions' leases) records the seed's hash.
        wait_until(lambda: "ReleaseDraw.Committed" in stored_draw(system.data_dir)[0], 20, "the seed's hash recorded")
        assert system_now() < OPENS - BEFORE, "the seed's hash is recorded before the window opens"
        wait_until(lambda: system_now() > OPENS - BEFORE + dt.timedelta(seconds=1), 60, "the window opened")

        waiting = []
        for i, citizen in enumerate(citizens):
            body = booking_body(OFFICE, DAY, "pagi", serial=88100 + i)
            response = client.post("/v1/bookings", json=body, headers=citizen.headers(f"draw-window-{i:04d}"))
            assert response.status_code == 202, f"{response.status_code}: {response.text}"
            booking = response.json()
            assert booking["status"] == "requested" and booking["waiting_for_draw"], booking
            waiting.append(booking["booking_id"])
        assert system_now() < OPENS + AFTER, "the story booked inside the window"

        def decided() -> bool:
            views = [
                client.get(f"/v1/bookings/{b}", headers=c.headers()).json()
                for b, c in zip(waiting, citizens, strict=True)
            ]
            return all(v["status"] == "confirmed" for v in views)

        wait_until(decided, 90, "the draw was made and every waiting booking confirmed")
        numbers = {
            b: client.get(f"/v1/bookings/{b}", headers=c.headers()).json()["queue_number"]
            for b, c in zip(waiting, citizens, strict=True)
        }

    events, joined = stored_draw(system.data_dir)
    seed = bytes.fromhex(events["ReleaseDraw.Revealed"]["seed"])
    assert hashlib.sha256(seed).hexdigest() == events["ReleaseDraw.Committed"]["commitment"]
    order = events["ReleaseDraw.Drawn"]["order"]
    assert order == draw_order(joined, seed) and sorted(order) == sorted(waiting)
    assert [numbers[b] for b in order] == sorted(numbers.values()), "queue numbers follow the draw"

    result = run_audit(BookingSettings(data_dir=system.data_dir, event_store="sqlite"), Scope(grace=dt.timedelta(0)))
    assert result.ok, [f.as_dict() for f in result.findings]
    assert result.kinds["quota:ReleaseDraw.Revealed"] >= 1  # every office released a date: each its own draw
