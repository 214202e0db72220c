"""The frontends' frame in a real Chromium: the app loads under its policy, speaks Indonesian first, English on a tap."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize("viewport", ["phone", "desktop"])
def test_the_app_opens_in_indonesian_and_switches_to_english_with_one_tap(web_system, open_page, viewport):
    page = open_page(web_system.gateway_url, viewport)
    blocked: list[str] = []
    page.on("console", lambda m: blocked.append(m.text) if "Content Security Policy" in m.text else None)
    page.goto("/")
    assert page.locator("html").get_attribute("lang") == "id"
    page.get_by_role("button", name="English").click()
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.get_by_role("link", name="Passport Queue").is_visible()
    page.reload()
    assert page.locator("html").get_attribute("lang") == "en"  # the choice is remembered
    assert not blocked
