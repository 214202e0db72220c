"""The operator console in a real browser: lower a day's capacity and close a session, each confirmed with the
number of applicants it touches, and see the citizen's calendar change; the live release view and the audit."""

from __future__ import annotations

import httpx
from catalogue import say
from citizens import Citizen
from playwright.sync_api import expect
from staff import signed_in, staff_token
from support import bookable_day

DAY = bookable_day(3)


def test_an_operator_lowers_a_day_s_capacity_and_closes_a_session_and_the_citizen_s_calendar_shows_it(
    web_system, open_page, shoot
):
    with httpx.Client(base_url=web_system.gateway_url, timeout=30) as api:
        citizen = Citizen(api, 7201)
        citizen.book("GRESIK", DAY, "pagi")
        token = staff_token(api, "ops@kanim.example", "operator")
        before = api.get("/v1/offices/GRESIK/calendar", params={"start": str(DAY), "end": str(DAY)}).json()
    capacity = before["sessions"][0]["capacity"]
    calendar = citizen.page(open_page, web_system.gateway_url, "phone", "id")
    calendar.goto("/#/office/GRESIK")
    morning = calendar.locator(f"td[data-date='{DAY}'][data-session='pagi']")
    afternoon = calendar.locator(f"td[data-date='{DAY}'][data-session='siang']")
    expect(morning).to_contain_text(say("id", "citizen.calendar.count", left=capacity - 1, capacity=capacity))
    console = signed_in(open_page(web_system.gateway_url, "desktop"), "operator", token, "id")
    console.goto("/operator/")
    expect(console.locator(f"tr[data-date='{DAY}'] td[data-session='pagi']")).to_contain_text(f"1/{capacity}")

    console.get_by_label(say("id", "operator.date")).first.select_option(str(DAY))
    console.locator("#capacity-session").select_option("pagi")
    console.get_by_label(say("id", "operator.capacity.label")).fill("1")
    console.get_by_role("button", name=say("id", "operator.capacity.submit")).click()
    expect(console.locator(".confirm")).to_contain_text("menyentuh 1 pemohon")
    shoot(console, "operator-confirm")
    console.get_by_role("button", name=say("id", "operator.confirm.yes")).click()

    expect(console.locator(f"tr[data-date='{DAY}'] td[data-session='pagi']")).to_contain_text("1/1")
    calendar.reload()
    expect(morning).to_contain_text(say("id", "citizen.calendar.full"))
    expect(morning).to_contain_text(say("id", "citizen.calendar.count", left=0, capacity=1))

    console.locator("#closure-date").select_option(str(DAY))
    console.locator("#closure-session").select_option("siang")
    console.get_by_label(say("id", "operator.closure.reason")).fill("Listrik padam di kantor")
    console.get_by_role("button", name=say("id", "operator.closure.submit")).click()
    expect(console.locator(".confirm")).to_contain_text("menyentuh 0 pemohon")
    console.keyboard.press("Enter")  # the confirmation has the focus: the keyboard alone confirms

    expect(console.locator(".notice")).to_contain_text(say("id", "operator.closure.done", date="").strip())
    calendar.reload()
    expect(afternoon).to_contain_text(say("id", "citizen.calendar.closed"))
    expect(console.locator("#live-requests")).to_contain_text("/dtk")  # two readings of the metrics: a rate
    expect(console.get_by_text(say("id", "operator.audit.none"))).to_be_visible()
    shoot(console, "operator-console")
    shoot(calendar, "operator-citizen-calendar")


def test_the_operator_pages_fit_a_small_phone_and_a_desktop_in_both_languages(web_system, open_page, shoot):
    with httpx.Client(base_url=web_system.gateway_url, timeout=30) as api:
        token = staff_token(api, "ops2@kanim.example", "operator")
    for viewport, language in (("small", "en"), ("small", "id"), ("desktop", "en")):
        signed_out = open_page(web_system.gateway_url, viewport)
        signed_out.add_init_script(f"localStorage.setItem('paspor.lang', {language!r});")
        signed_out.goto("/operator/")
        expect(signed_out.get_by_role("heading", name=say(language, "operator.signin.title"))).to_be_visible()
        shoot(signed_out, "operator-signin")
        page = signed_in(open_page(web_system.gateway_url, viewport), "operator", token, language)
        page.goto("/operator/")
        expect(page.get_by_role("heading", name=say(language, "operator.calendar.title", days=14))).to_be_visible()
        shoot(page, "operator-console")
