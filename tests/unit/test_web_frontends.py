"""The gateway serves the frontends as plain files with strict headers, and their one catalogue is complete."""

from __future__ import annotations

import json
import re
from pathlib import Path

import httpx
from gateway_fakes import gateway_app
from support import TODAY

from services.gateway.problems import STATUS
from services.gateway.routes_tickets import CHECKIN_STATUS
from services.gateway.routes_web import WEB, sign_in_providers
from services.gateway.settings import GatewaySettings, TrustedIssuer


def client_for(api) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(api), base_url="http://gateway")


async def test_the_citizen_app_is_served_at_the_root_with_a_strict_content_security_policy(tmp_path):
    api, _, _ = gateway_app(tmp_path)
    async with client_for(api) as client:
        page = await client.get("/")
        module = await client.get("/static/assets/i18n.js")
        worker = await client.get("/sw.js")
        again = await client.get("/static/assets/i18n.js", headers={"If-None-Match": module.headers["etag"]})
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    policy = page.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "'unsafe-inline'" not in policy and "frame-ancestors 'none'" in policy
    assert page.headers["x-content-type-options"] == "nosniff"
    assert "<script>" not in page.text and " style=" not in page.text  # no inline code for the policy to allow
    assert module.status_code == 200 and "javascript" in module.headers["content-type"]
    assert module.headers["cache-control"] == "no-cache"
    assert worker.status_code == 200 and "javascript" in worker.headers["content-type"]
    assert again.status_code == 304  # revalidated, not sent again


async def test_a_missing_file_or_page_is_a_problem_and_the_api_is_not_shadowed(tmp_path):
    api, _, _ = gateway_app(tmp_path)
    async with client_for(api) as client:
        missing = await client.get("/static/assets/nothing.js")
        escape = await client.get("/static/../routes_web.py")
        unknown_api = await client.post("/v1/nothing")
        offices = await client.get("/v1/offices", params={"q": "gresik"})
    assert missing.status_code == 404 and missing.json()["code"] == "not_found"
    assert escape.status_code == 404
    assert unknown_api.status_code == 404 and unknown_api.json()["code"] == "not_found"
    assert offices.status_code == 200 and offices.json()[0]["code"] == "GRESIK"


async def test_the_config_gives_the_systems_today_the_sign_in_options_and_the_rules(tmp_path):
    api, _, _ = gateway_app(tmp_path)
    async with client_for(api) as client:
        config = (await client.get("/v1/config")).json()
    assert config["dev_issuer"] is True and config["providers"] == []
    assert config["today"] == TODAY.isoformat()  # the system's pinned day, not the browser's
    assert config["rules"] == {
        "max_registrations": 5,
        "max_applicants": 5,
        "spacing_days": 30,
        "cooldown_days": 30,
        "window_days": 60,
    }


def test_an_issuer_with_an_authorization_endpoint_gets_a_sign_in_button_named_after_it():
    google = TrustedIssuer(
        issuer="https://accounts.google.com",
        jwks="https://www.googleapis.com/oauth2/v3/certs",
        provider="google",
        audience="1234.apps.googleusercontent.com",
        authorize_url="https://accounts.google.com/o/oauth2/v2/auth",
    )
    staff = TrustedIssuer(issuer="https://staff.example", jwks="/keys.json", grants_roles=True)
    (button,) = sign_in_providers([google, staff])
    assert (button.name, button.label, button.client_id) == ("google", "Google", "1234.apps.googleusercontent.com")


def test_the_gateway_reads_the_booking_services_cooldown_so_the_app_states_the_one_applied(monkeypatch):
    monkeypatch.setenv("PASPOR_BOOKING_COOLDOWN_DAYS", "14")
    assert GatewaySettings().booking_cooldown_days == 14


def catalogue() -> dict[str, dict[str, str]]:
    merged: dict[str, dict[str, str]] = {"id": {}, "en": {}}
    for path in sorted((WEB / "messages").glob("*.json")):
        part = json.loads(path.read_text())
        assert set(part) == {"id", "en"}, f"{path.name}: languages {sorted(part)}"
        missing = set(part["id"]) ^ set(part["en"])
        assert not missing, f"{path.name}: only in one language: {sorted(missing)}"
        area = path.stem
        assert all(k.startswith((f"{area}.", "problem.")) for k in part["id"]), f"{path.name}: keys start {area}."
        for language in merged:
            overlap = set(merged[language]) & set(part[language])
            assert not overlap, f"{path.name} redefines {sorted(overlap)}"
            merged[language].update(part[language])
    return merged


def used_keys(path: Path) -> set[str]:
    text = path.read_text()
    found = set(re.findall(r"data-i18n=\"([\w.]+)\"", text))
    found |= {
        key for pair in re.findall(r"data-i18n-attr=\"([^\"]+)\"", text) for key in re.findall(r":\s*([\w.]+)", pair)
    }
    found |= set(re.findall(r"\bt\('([\w.]+)'", text))
    return found


def test_every_text_is_in_both_languages_and_every_key_the_pages_use_exists():
    messages = catalogue()
    for path in [*WEB.rglob("*.html"), *WEB.rglob("*.js")]:
        unknown = used_keys(path) - set(messages["id"])
        assert not unknown, f"{path.relative_to(WEB)} uses keys not in the catalogue: {sorted(unknown)}"


def test_every_problem_the_gateway_can_answer_has_a_message_in_both_languages():
    messages = catalogue()
    codes = set(STATUS) | set(CHECKIN_STATUS) | {"offline", "unknown"}
    assert not {f"problem.{code}" for code in codes} - set(messages["en"])
