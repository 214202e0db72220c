"""A citizen in Lamongan books for a family of three at the nearest office, keeps the ticket offline, and cancels.

The same journey on a phone (390x844) and on a desktop, in Indonesian and in English, against `paspor up`.
Each journey has its own account, NIKs and office day, so each is first in line (queue number 1).
"""

from __future__ import annotations

import re

import pytest
from catalogue import say
from playwright.sync_api import expect
from support import bookable_day, kk, nik

LAMONGAN = {"latitude": -7.1167, "longitude": 112.4167}  # no immigration office of its own: Gresik is nearest
JOURNEYS = [("phone", "id"), ("phone", "en"), ("desktop", "id"), ("desktop", "en")]
BIRTH = "1990-05-17"


@pytest.mark.parametrize(("viewport", "language"), JOURNEYS)
def test_a_citizen_near_lamongan_books_a_family_of_three_at_gresik_keeps_the_ticket_offline_and_cancels(
    web_system, open_page, shoot, viewport, language
):
    n = JOURNEYS.index((viewport, language))
    day = bookable_day(start_in=3 + 7 * n).isoformat()  # an office day of its own: first in line
    page = open_page(web_system.gateway_url, viewport, geolocation=LAMONGAN, permissions=["geolocation"])
    text = lambda key, **values: say(language, key, **values)  # noqa: E731 - what the page says, in this language

    # 1. Sign in (one tap to English), accept the terms, fill in the profile.
    page.goto("/")
    if language == "en":
        page.get_by_role("button", name="English").click()
    expect(page.get_by_role("heading", name=text("citizen.signin.title"), exact=True)).to_be_visible()
    shoot(page, "signin")
    page.get_by_label(text("citizen.signin.email")).fill(f"journey-{n}@example.com")
    page.get_by_role("button", name=text("citizen.signin.submit"), exact=True).click()
    expect(page.get_by_role("heading", name=text("citizen.terms.title"))).to_be_visible()
    shoot(page, "terms")
    page.get_by_label(text("citizen.terms.agree")).check()
    page.get_by_role("button", name=text("common.next")).click()
    expect(page.get_by_role("heading", name=text("citizen.profile.title"))).to_be_visible()
    page.get_by_label(text("citizen.profile.full_name")).fill("Ayu Lestari")
    page.get_by_label(text("citizen.profile.nik"), exact=True).fill(nik(7000 + n, "35", "24", woman=True))
    page.get_by_label(text("citizen.profile.kk_number")).fill(kk(7000 + n))
    page.get_by_label(text("citizen.profile.birth_date")).fill(BIRTH)
    page.get_by_label(text("citizen.profile.phone")).fill("0812-3456-7890")
    shoot(page, "profile")
    page.get_by_role("button", name=text("common.save")).click()
    expect(page.get_by_role("status")).to_have_text(text("citizen.profile.saved"))
    shoot(page, "home")

    # 2. The nearest office with a free slot, from Lamongan: Gresik.
    page.get_by_role("navigation").get_by_role("link", name=text("citizen.home.book")).click()
    page.get_by_role("button", name=text("citizen.offices.nearest"), exact=True).click()
    nearest = page.locator("#office-results .office-link").first
    expect(nearest).to_contain_text("Gresik")
    shoot(page, "offices")
    nearest.click()
    expect(page.get_by_role("heading", name=text("citizen.calendar.title"))).to_be_visible()
    shoot(page, "calendar")

    # 3. Book a family of three on the journey's own day.
    page.locator(f'td[data-date="{day}"][data-session="pagi"] a').click()
    expect(page.get_by_role("heading", name=text("citizen.book.title"))).to_be_visible()
    page.get_by_label(text("citizen.book.count")).select_option("3")
    for i, (name, birth) in enumerate([("Bima Lestari", "2012-03-02"), ("Citra Lestari", "2015-08-21")], start=1):
        page.locator(f"#applicant-{i}-name").fill(name)
        page.locator(f"#applicant-{i}-nik").fill(nik(7100 + 10 * n + i, "35", "24", birth=_date(birth)))
        page.locator(f"#applicant-{i}-birth").fill(birth)
    expect(page.get_by_role("note")).to_contain_text(text("citizen.book.warning", days=30, limit=5))
    shoot(page, "book")
    page.get_by_role("button", name=text("citizen.book.submit"), exact=True).click()

    # 4. Confirmed, first in line.
    expect(page.get_by_role("heading", name=text("citizen.outcome.confirmed.title"))).to_be_visible()
    expect(page.locator("#queue-number")).to_have_text("1")
    expect(page.get_by_role("status")).to_have_text(text("citizen.outcome.confirmed"))
    shoot(page, "confirmed")

    # 5. The ticket, then offline: reloaded, it is still there.
    page.get_by_role("link", name=text("citizen.outcome.ticket")).click()
    expect(page.get_by_role("img", name=text("citizen.ticket.qr", n=1))).to_be_visible()
    expect(page.locator("#offline-ready")).to_be_visible()
    expect(page.locator("#add-to-calendar")).to_have_attribute("download", re.compile(r"^paspor-.*\.ics$"))
    expect(page.locator("#billing-code")).to_have_text(
        re.compile(r"^[0-9]{15}$")
    )  # the fee, to pay before the deadline
    expect(page.locator("#payment")).to_contain_text("1.050.000")  # three regular passports, Rp 350.000 each
    shoot(page, "ticket")
    page.context.set_offline(True)
    page.reload()
    expect(page.locator("#queue-number")).to_have_text("1")
    expect(page.get_by_role("img", name=text("citizen.ticket.qr", n=1))).to_be_visible()
    expect(page.locator("#ticket")).to_contain_text("Gresik")
    shoot(page, "ticket-offline")
    page.context.set_offline(False)

    # 6. Cancel: the cool-down is said before, and again after.
    page.get_by_role("button", name=text("citizen.ticket.cancel")).click()
    dialog = page.get_by_role("alertdialog")
    expect(dialog).to_contain_text("30")
    expect(dialog).to_contain_text(text("citizen.cancel.title"))
    shoot(page, "cancel")
    dialog.get_by_role("button", name=text("citizen.cancel.yes")).click()
    expect(page.get_by_role("status")).to_contain_text(text("citizen.cancel.done", date="")[:20])
    expect(page.locator("#ticket")).to_contain_text(text("citizen.status.cancelled"))
    shoot(page, "cancelled")
    page.get_by_role("link", name=text("citizen.home.registrations")).click()
    expect(page.locator("#registrations-used")).to_have_text(text("citizen.registrations.count", used=1, limit=5))
    shoot(page, "registrations")


def _date(iso: str):
    import datetime as dt

    return dt.date.fromisoformat(iso)
