"""The waitlist in the citizen app: a sold-out refusal offers it, the page follows the waiting booking, and the
place held for the citizen is accepted with one button. The booking form's fallback choice goes with the request.
"""

from __future__ import annotations

import re

import httpx
import pytest
from catalogue import say
from citizens import Citizen, operator_headers
from conftest import beside_playwright, embedded
from playwright.sync_api import expect
from support import bookable_day

OFFICE = "MALANG"
OFFER_SEEN_MS = 45_000  # the page looks at a waiting booking again every 15 s
ISO_MOMENT = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d")  # the hold's deadline, as the gateway states it


@pytest.fixture(scope="module")
def system(tmp_path_factory):
    running = embedded(tmp_path_factory)
    yield running
    beside_playwright(running.stop)


@pytest.fixture
def api(system):
    with httpx.Client(base_url=system.gateway_url, timeout=30) as client:
        yield client


def set_capacity(api: httpx.Client, day, capacity: int) -> None:
    change = {"date": day.isoformat(), "session": "pagi", "capacity": capacity}
    api.put(f"/v1/operator/offices/{OFFICE}/capacity", json=change, headers=operator_headers(api)).raise_for_status()


@pytest.mark.parametrize("language", ["en", "id"])
def test_a_citizen_refused_sold_out_joins_the_waitlist_and_accepts_the_place_held_for_them(
    system, api, open_page, shoot, language
):
    serial = {"en": 601, "id": 602}[language]
    day = bookable_day(start_in={"en": 5, "id": 12}[language])
    set_capacity(api, day, 0)
    page = Citizen(api, serial).page(open_page, system.gateway_url, language=language)
    page.goto(f"/#/book/{OFFICE}/{day}/pagi")
    expect(page.get_by_role("heading", name=say(language, "citizen.book.title"))).to_be_visible()
    fallback = page.locator("#fallback-siang")
    expect(fallback).not_to_be_checked()
    fallback.check()  # the afternoon too, should a release draw find the morning full
    shoot(page, "booking-with-fallback")

    page.get_by_role("button", name=say(language, "citizen.book.submit"), exact=True).click()
    expect(page.get_by_role("alert")).to_have_attribute("data-code", "sold_out")
    page.get_by_role("button", name=say(language, "citizen.waitlist.join")).click()
    expect(page.get_by_role("heading", name=say(language, "citizen.waitlist.waiting.title"))).to_be_visible()
    expect(page.locator("[data-status=waitlisted]")).to_be_visible()
    shoot(page, "waitlisted")

    set_capacity(api, day, 1)  # a place frees up: it is held for the first one waiting

    offered = page.get_by_role("heading", name=say(language, "citizen.waitlist.offered.title"))
    expect(offered).to_be_visible(timeout=OFFER_SEEN_MS)
    expect(page.locator("[data-status=offered]")).to_have_attribute("data-until", ISO_MOMENT)
    shoot(page, "offered")
    page.get_by_role("button", name=say(language, "citizen.waitlist.accept")).click()
    expect(page.get_by_role("heading", name=say(language, "citizen.outcome.confirmed.title"))).to_be_visible()
    expect(page.locator("#queue-number")).to_have_text("1")
