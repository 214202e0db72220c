"""A booking not decided in the first answer (202): the app says it is being decided, follows it, and shows the outcome.

A system whose booking service leaves every decision to the asynchronous pipeline and whose gateway does
not wait for it, so that every booking is answered 202 and the app must follow the long poll.
"""

from __future__ import annotations

import httpx
import pytest
from catalogue import say
from citizens import Citizen
from conftest import beside_playwright, embedded
from playwright.sync_api import expect
from support import bookable_day


@pytest.fixture(scope="module")
def system(tmp_path_factory):
    running = embedded(tmp_path_factory, {"PASPOR_BOOKING_FAST_PATH": "false", "PASPOR_GATEWAY_OUTCOME_WAIT": "0"})
    yield running
    beside_playwright(running.stop)


def test_a_booking_answered_202_is_followed_until_it_is_confirmed(system, open_page, shoot):
    with httpx.Client(base_url=system.gateway_url, timeout=30) as api:
        citizen = Citizen(api, 600)
    page = citizen.page(open_page, system.gateway_url, viewport="desktop")
    page.goto(f"/#/book/GRESIK/{bookable_day(start_in=5)}/pagi")

    with page.expect_response(lambda r: r.url.endswith("/v1/bookings") and r.request.method == "POST") as first:
        page.get_by_role("button", name=say("id", "citizen.book.submit"), exact=True).click()

    assert first.value.status == 202 and "?wait=" in first.value.headers["location"]
    expect(page.get_by_role("heading", name=say("id", "citizen.outcome.confirmed.title"))).to_be_visible()
    expect(page.locator("#queue-number")).to_have_text("1")
    shoot(page, "confirmed-after-waiting")
