"""Refusals shown in the citizen app: each says what happened in the citizen's language, and the app goes on working.

One `paspor up` for the module, with no spacing or cool-down between registrations (so that a sixth one can
be reached in a test) and a low per-account rate (so that it can be exceeded). Each story has its own
account, NIKs and office day; the story that changes the terms in force runs last.
"""

from __future__ import annotations

import threading
import time

import httpx
import pytest
from catalogue import say
from citizens import Citizen, operator_headers
from conftest import beside_playwright, embedded
from playwright.sync_api import expect
from support import bookable_day, device_key, nik, signing

RATE_PER_ACCOUNT = 5


@pytest.fixture(scope="module")
def system(tmp_path_factory):
    running = embedded(
        tmp_path_factory,
        {
            "PASPOR_BOOKING_SPACING_DAYS": "0",
            "PASPOR_BOOKING_COOLDOWN_DAYS": "0",
            "PASPOR_GATEWAY_RATE_ACCOUNT": str(RATE_PER_ACCOUNT),
        },
    )
    yield running
    beside_playwright(running.stop)


@pytest.fixture
def api(system):
    with httpx.Client(base_url=system.gateway_url, timeout=30) as client:
        yield client


def submit(page, language: str) -> None:
    page.get_by_role("button", name=say(language, "citizen.book.submit"), exact=True).click()


def expect_refusal(page, language: str, code: str) -> None:
    alert = page.get_by_role("alert")
    expect(alert).to_have_attribute("data-code", code)
    expect(alert).to_contain_text(say(language, f"problem.{code}", until="")[:25])


def expect_confirmed(page, language: str) -> None:
    expect(page.get_by_role("heading", name=say(language, "citizen.outcome.confirmed.title"))).to_be_visible()
    expect(page.locator("#queue-number")).to_have_text("1")


@pytest.mark.parametrize("language", ["id", "en"])
def test_a_session_that_sold_out_while_the_form_was_open_is_refused_and_another_session_can_be_booked(
    system, api, open_page, shoot, language
):
    serial = {"id": 501, "en": 502}[language]
    day = bookable_day(start_in={"id": 4, "en": 11}[language])
    citizen = Citizen(api, serial)
    page = citizen.page(open_page, system.gateway_url, language=language)
    page.goto(f"/#/book/MALANG/{day}/pagi")
    expect(page.get_by_role("heading", name=say(language, "citizen.book.title"))).to_be_visible()
    change = {"date": day.isoformat(), "session": "pagi", "capacity": 0}
    api.put("/v1/operator/offices/MALANG/capacity", json=change, headers=operator_headers(api)).raise_for_status()

    submit(page, language)

    expect_refusal(page, language, "sold_out")
    shoot(page, "refused-sold-out")
    page.locator('a[href="#/office/MALANG"]').first.click()
    expect(page.locator(f'td[data-date="{day}"][data-session="pagi"]')).to_have_attribute("data-state", "full")
    page.locator(f'td[data-date="{day}"][data-session="siang"] a').click()
    submit(page, language)
    expect_confirmed(page, language)


def test_a_sixth_registration_is_refused_and_my_registrations_says_none_are_left(system, api, open_page, shoot):
    citizen = Citizen(api, 510)
    for i in range(5):  # five registrations, each cancelled (no spacing or cool-down in this system)
        booking = citizen.book("KEDIRI", bookable_day(start_in=3 + i))
        citizen.call("POST", f"/v1/bookings/{booking['booking_id']}/cancel").raise_for_status()
    page = citizen.page(open_page, system.gateway_url)
    page.goto(f"/#/book/KEDIRI/{bookable_day(start_in=10)}/siang")

    submit(page, "id")

    expect_refusal(page, "id", "registration_limit_reached")
    shoot(page, "refused-sixth-registration")
    page.goto("/#/registrations")
    expect(page.locator("#registrations-used")).to_have_text(say("id", "citizen.registrations.count", used=5, limit=5))
    expect(page.locator("#registrations-next")).to_have_text(say("id", "citizen.registrations.none_left"))


def test_a_nik_already_on_another_upcoming_booking_is_refused_and_the_form_can_be_corrected(
    system, api, open_page, shoot
):
    day = bookable_day(start_in=6)
    first = Citizen(api, 520)
    first.book("JEMBER", day)  # its applicant has NIK nik(5200)
    second = Citizen(api, 521)
    page = second.page(open_page, system.gateway_url)
    page.goto(f"/#/book/JEMBER/{day}/siang")
    page.locator("#applicant-0-nik").fill(nik(5200))

    submit(page, "id")

    expect_refusal(page, "id", "nik_already_booked")
    shoot(page, "refused-nik-booked")
    page.locator("#applicant-0-nik").fill(nik(5210))
    submit(page, "id")
    expect_confirmed(page, "id")


def test_too_many_requests_are_refused_with_a_wait_and_the_same_tap_later_works(system, api, open_page, shoot):
    citizen = Citizen(api, 530)
    page = citizen.page(open_page, system.gateway_url)
    page.goto(f"/#/book/BLITAR/{bookable_day(start_in=5)}/pagi")
    expect(page.get_by_role("heading", name=say("id", "citizen.book.title"))).to_be_visible()
    hammering = threading.Event()
    hammering.set()

    def hammer() -> None:  # another tab, a script: it takes each request the account is allowed
        with signing(httpx.Client(base_url=system.gateway_url)) as client:
            while hammering.is_set():
                client.get("/v1/me/terms", headers=citizen.headers())

    scripts = [threading.Thread(target=hammer) for _ in range(3)]  # each signs a proof per call: three keep up
    for script in scripts:
        script.start()
    try:
        time.sleep(1)
        submit(page, "id")
        expect_refusal(page, "id", "rate_limited")
    finally:
        hammering.clear()
        for script in scripts:
            script.join()
    shoot(page, "refused-rate-limited")
    time.sleep(2.5)  # the account's bucket refills (its burst is two seconds of its rate)
    submit(page, "id")
    expect_confirmed(page, "id")


def test_terms_changed_since_they_were_accepted_are_asked_again_and_then_the_booking_goes_through(
    system, api, open_page, shoot
):
    citizen = Citizen(api, 540)
    page = citizen.page(open_page, system.gateway_url)
    page.goto(f"/#/book/SBY-TPI/{bookable_day(start_in=7)}/pagi")
    expect(page.get_by_role("heading", name=say("id", "citizen.book.title"))).to_be_visible()
    new_terms(system, "2027.1")

    submit(page, "id")

    expect_refusal(page, "id", "terms_not_accepted")
    shoot(page, "refused-terms-changed")
    page.get_by_role("link", name=say("id", "citizen.terms.open")).click()
    expect(page.get_by_role("status")).to_have_text(say("id", "citizen.terms.changed"))
    expect(page.get_by_text(say("id", "citizen.terms.version", version="2027.1"))).to_be_visible()
    page.get_by_label(say("id", "citizen.terms.agree")).check()
    page.get_by_role("button", name=say("id", "common.next")).click()
    expect(page.get_by_role("heading", name=say("id", "citizen.home.title"))).to_be_visible()
    page.goto(f"/#/book/SBY-TPI/{bookable_day(start_in=7)}/pagi")
    submit(page, "id")
    expect_confirmed(page, "id")


def new_terms(system, version: str) -> None:
    """The booking service restarted with new terms and conditions in force."""

    def restart() -> None:
        booking = system.children["booking"]
        booking.terminate()
        booking.wait(30)
        system.extra_env["PASPOR_BOOKING_TERMS_VERSION"] = version
        system.children["booking"] = system._spawn("booking")

    beside_playwright(restart)
    probe = Citizen.__new__(Citizen)
    deadline = time.monotonic() + 30
    with signing(httpx.Client(base_url=system.gateway_url, timeout=5)) as client:
        token = client.post("/v1/dev/token", json={"subject": "terms-probe@example.com"}).json()["access_token"]
        probe.token, probe.device = token, device_key("web-terms-probe-device").thumbprint
        while time.monotonic() < deadline:
            answer = client.get("/v1/me/terms", headers=probe.headers())
            if answer.status_code == 200 and answer.json()["current_version"] == version:
                return
            time.sleep(0.2)
    raise AssertionError(f"the booking service did not come back with terms {version}")
