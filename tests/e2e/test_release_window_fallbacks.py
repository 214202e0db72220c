"""Fallback sessions in a release draw, through the gateway of a whole embedded system living just before a release.

As in `test_release_window.py`, the system's clock starts a minute before a date's release with a short
draw window. The morning of that date has one place; three citizens ask for it in the window, each naming
the afternoon as a fallback. When the draw is made, the first of them is confirmed in the morning and the
other two in the afternoon: their bookings, QR tickets and the audit agree on the session each was given.
"""

from __future__ import annotations

import datetime as dt
import time
from zoneinfo import ZoneInfo

import httpx
import pytest
from support import SYSTEM_CLOCKS, bookable_day, booking_body, sign_in, wait_until

from paspor.audit import Scope, run_audit
from paspor.embedded import EmbeddedSystem
from paspor.natsserver import free_port
from services.booking.main import BookingSettings
from services.quota.main import QuotaSettings
from shared import clock

OFFICE = "SBY-TPI"
DAY = bookable_day(76)
RELEASE = QuotaSettings().quota_release_time
OPENS = dt.datetime.combine(DAY - dt.timedelta(days=60), RELEASE, ZoneInfo("Asia/Jakarta")).astimezone(dt.UTC)
BEFORE, AFTER = dt.timedelta(seconds=30), dt.timedelta(seconds=15)


@pytest.fixture(scope="module")
def release(tmp_path_factory):
    """The system on its own clock: a minute before `DAY` is released at `OFFICE`."""
    env = {
        "PASPOR_CLOCK_START": (OPENS - dt.timedelta(seconds=60)).isoformat(),
        "PASPOR_CLOCK_STARTED": str(clock.wall_clock().timestamp()),
        "PASPOR_QUOTA_DRAW_BEFORE_MINUTES": str(BEFORE.total_seconds() / 60),
        "PASPOR_QUOTA_DRAW_AFTER_MINUTES": str(AFTER.total_seconds() / 60),
    }
    system = EmbeddedSystem(tmp_path_factory.mktemp("fallbacks"), gateway_port=free_port(), env=env)
    started = time.monotonic()
    system.start()
    system_now = lambda: OPENS - dt.timedelta(seconds=60) + dt.timedelta(seconds=time.monotonic() - started)  # noqa: E731
    SYSTEM_CLOCKS[system.gateway_url.split("://", 1)[1]] = system_now  # device proofs dated by its clock
    yield system, system_now
    system.stop()


def ready(client: httpx.Client, subject: str):
    """`sign_in`, once the booking service answers (a fresh system's services start at their own pace)."""
    deadline = time.monotonic() + 60
    while True:
        try:
            return sign_in(client, subject)
        except httpx.HTTPStatusError as error:
            if error.response.status_code != 503 or time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def ticket_of(client: httpx.Client, citizen, booking_id: str) -> dict:  # noqa: ANN001
    answer: list[httpx.Response] = []

    def issued() -> bool:
        answer[:] = [client.get(f"/v1/bookings/{booking_id}/ticket", headers=citizen.headers())]
        return answer[0].status_code == 200

    wait_until(issued, 20, f"the ticket of {booking_id} was issued")
    return answer[0].json()


def test_entries_whose_first_choice_fills_in_the_draw_are_confirmed_in_their_fallback(release):
    system, system_now = release
    with httpx.Client(base_url=system.gateway_url, timeout=30) as client:
        citizens = [ready(client, f"fallback-{i}@example.com") for i in range(3)]
        operator = client.post("/v1/dev/token", json={"subject": "ops@example.com", "role": "operator"})
        headers = {"Authorization": f"Bearer {operator.json()['access_token']}"}
        one_place = {"date": DAY.isoformat(), "session": "pagi", "capacity": 1}
        client.put(f"/v1/operator/offices/{OFFICE}/capacity", json=one_place, headers=headers).raise_for_status()
        wait_until(lambda: system_now() > OPENS - BEFORE + dt.timedelta(seconds=1), 60, "the window opened")

        waiting = []
        for i, citizen in enumerate(citizens):
            body = booking_body(OFFICE, DAY, "pagi", serial=88200 + i) | {"fallbacks": ["siang"]}
            response = client.post("/v1/bookings", json=body, headers=citizen.headers(f"fallback-window-{i:04d}"))
            assert response.status_code == 202 and response.json()["waiting_for_draw"], response.text
            waiting.append(response.json()["booking_id"])
        assert system_now() < OPENS + AFTER, "the story booked inside the window"

        def views() -> list[dict]:
            return [
                client.get(f"/v1/bookings/{b}", headers=c.headers()).json()
                for b, c in zip(waiting, citizens, strict=True)
            ]

        wait_until(lambda: all(v["status"] == "confirmed" for v in views()), 90, "every waiting booking confirmed")
        decided = views()
        sessions = sorted((v["slot"]["session"], v["queue_number"]) for v in decided)
        assert sessions == [("pagi", 1), ("siang", 1), ("siang", 2)], "one morning place, the rest in the fallback"
        for view, citizen in zip(decided, citizens, strict=True):
            ticket = ticket_of(client, citizen, view["booking_id"])
            assert (ticket["slot"]["session"], ticket["queue_number"]) == (
                view["slot"]["session"],
                view["queue_number"],
            )

    result = run_audit(BookingSettings(data_dir=system.data_dir, event_store="sqlite"), Scope(grace=dt.timedelta(0)))
    assert result.ok, [f.as_dict() for f in result.findings]
