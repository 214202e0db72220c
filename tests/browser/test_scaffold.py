"""The frontends' frame in a real Chromium: the app loads under its policy, speaks Indonesian first, English on a tap."""

from __future__ import annotations

import pytest
from catalogue import say
from playwright.sync_api import expect


@pytest.mark.parametrize("viewport", ["phone", "desktop"])
def test_the_app_opens_in_indonesian_and_switches_to_english_with_one_tap(web_system, open_page, viewport):
    page = open_page(web_system.gateway_url, viewport)
    blocked: list[str] = []
    page.on("console", lambda m: blocked.append(m.text) if "Content Security Policy" in m.text else None)
    page.goto("/")
    expect(page.get_by_role("heading", name="Masuk", exact=True)).to_be_visible()
    expect(page.locator("html")).to_have_attribute("lang", "id")
    page.get_by_role("button", name="English").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_role("link", name="Passport Queue")).to_be_visible()
    page.reload()
    expect(page.locator("html")).to_have_attribute("lang", "en")  # the choice is remembered
    expect(page.get_by_role("heading", name="Sign in", exact=True)).to_be_visible()
    assert not blocked


def test_a_citizen_signs_in_and_accepts_the_terms_by_keyboard_alone_on_a_360_px_screen(web_system, open_page, shoot):
    page = open_page(web_system.gateway_url, "small")
    page.goto("/")
    expect(page.get_by_role("heading", name=say("id", "citizen.signin.title"), exact=True)).to_be_visible()
    expect(page.get_by_role("heading", name=say("id", "citizen.signin.title"), exact=True)).to_be_focused()
    email = page.get_by_label(say("id", "citizen.signin.email"))
    while not email.evaluate("e => e === document.activeElement"):
        page.keyboard.press("Tab")
    page.keyboard.type("keyboard@example.com")
    page.keyboard.press("Enter")
    agree = page.get_by_label(say("id", "citizen.terms.agree"))
    expect(page.get_by_role("heading", name=say("id", "citizen.terms.title"))).to_be_focused()
    while not agree.evaluate("e => e === document.activeElement"):
        page.keyboard.press("Tab")
    page.keyboard.press("Space")
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name=say("id", "citizen.profile.title"))).to_be_visible()
    shoot(page, "profile-small")
