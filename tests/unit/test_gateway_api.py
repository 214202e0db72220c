"""The gateway in process, on fake services: what it answers by itself, and how it refuses."""

from __future__ import annotations

import asyncio
import json

import httpx
from gateway_fakes import FakeServices, bearer, client_for, gateway_app, next_office_day
from support import booking_body, signing

from services.gateway.availability import AvailabilityView
from services.gateway.ratelimit import Limits, RateLimiter
from shared.events import Commands, SessionRemaining, availability_key


def full(view: AvailabilityView, office: str, day, session: str, closed: bool = False) -> None:
    entry = SessionRemaining(capacity=100, booked=100 if not closed else 3, remaining=0, closed=closed)
    view.apply(availability_key(office, day, session), entry.model_dump_json().encode())


async def test_a_session_the_read_model_shows_full_is_refused_at_once_without_asking_any_service(tmp_path):
    view, services, day = AvailabilityView(), FakeServices(), next_office_day()
    full(view, "GRESIK", day, "pagi")
    api, gw, dev = gateway_app(tmp_path, services, availability=view)
    async with client_for(api) as client:
        response = await client.post(
            "/v1/bookings",
            json=booking_body("GRESIK", day, "pagi", 1),
            headers=bearer(dev) | {"Idempotency-Key": "first-try-0001"},
        )
        other_session = await client.post(
            "/v1/bookings",
            json=booking_body("GRESIK", day, "siang", 1),
            headers=bearer(dev) | {"Idempotency-Key": "second-try-001"},
        )
    assert response.status_code == 409 and response.json()["code"] == "sold_out"
    assert response.headers["content-type"] == "application/problem+json"
    assert other_session.status_code == 201
    assert services.asked == [Commands.REQUEST_BOOKING]  # only the open session reached the booking service


async def test_a_retry_of_a_request_already_sent_on_gets_its_booking_even_after_the_session_filled(tmp_path):
    view, day = AvailabilityView(), next_office_day()
    api, gw, dev = gateway_app(tmp_path, availability=view)
    headers = bearer(dev) | {"Idempotency-Key": "retry-key-0001"}
    async with client_for(api) as client:
        first = await client.post("/v1/bookings", json=booking_body("GRESIK", day, "pagi", 1), headers=headers)
        full(view, "GRESIK", day, "pagi")
        again = await client.post("/v1/bookings", json=booking_body("GRESIK", day, "pagi", 1), headers=headers)
    assert first.status_code == again.status_code == 201
    assert first.json()["booking_id"] == again.json()["booking_id"]


async def test_a_request_refused_at_once_gets_the_same_refusal_when_retried_even_after_a_place_frees_up(tmp_path):
    view, services, day = AvailabilityView(), FakeServices(), next_office_day()
    full(view, "GRESIK", day, "pagi")
    api, _, dev = gateway_app(tmp_path, services, availability=view)
    headers = bearer(dev) | {"Idempotency-Key": "sticky-key-001"}
    async with client_for(api) as client:
        first = await client.post("/v1/bookings", json=booking_body("GRESIK", day, "pagi", 1), headers=headers)
        view.apply(availability_key("GRESIK", day, "pagi"), None)  # a cancellation freed the session
        retried = await client.post("/v1/bookings", json=booking_body("GRESIK", day, "pagi", 1), headers=headers)
        new_key = await client.post(
            "/v1/bookings",
            json=booking_body("GRESIK", day, "pagi", 1),
            headers=headers | {"Idempotency-Key": "sticky-key-002"},
        )
    assert first.status_code == retried.status_code == 409 and retried.json()["code"] == "sold_out"
    assert new_key.status_code == 201 and services.asked == [Commands.REQUEST_BOOKING]


async def test_a_booking_not_decided_within_the_wait_answers_202_and_its_long_poll_and_stream_tell_the_outcome(
    tmp_path,
):
    services, day = FakeServices(), next_office_day()
    services.decide_at_once = False
    api, gw, dev = gateway_app(tmp_path, services)
    async with client_for(api) as client:
        pending = await client.post(
            "/v1/bookings",
            json=booking_body("GRESIK", day, "pagi", 1),
            headers=bearer(dev) | {"Idempotency-Key": "pending-key-01"},
        )
        booking_id = pending.json()["booking_id"]
        polled = await client.get(f"/v1/bookings/{booking_id}", headers=bearer(dev))
        asyncio.get_running_loop().call_later(0.2, services.decide, booking_id, "rejected", "sold_out")
        stream = await client.get(f"/v1/bookings/{booking_id}/events", headers=bearer(dev))
        second = await client.post(
            "/v1/bookings",
            json=booking_body("GRESIK", day, "siang", 2),
            headers=bearer(dev) | {"Idempotency-Key": "pending-key-02"},
        )
        asyncio.get_running_loop().call_later(0.2, services.decide, second.json()["booking_id"], "confirmed")
        started = asyncio.get_running_loop().time()
        long_polled = await client.get(second.headers["Location"], headers=bearer(dev))
        waited = asyncio.get_running_loop().time() - started
    assert pending.status_code == 202 and pending.json()["status"] == "requested"
    assert pending.headers["Location"] == f"/v1/bookings/{booking_id}?wait=25" and "Retry-After" not in pending.headers
    assert polled.json()["status"] == "requested", "a plain GET answers at once"
    assert long_polled.json()["status"] == "confirmed" and waited < 20, "the long poll answered when it was decided"
    assert stream.headers["content-type"].startswith("text/event-stream")
    statuses = [json.loads(line[6:])["status"] for line in stream.text.splitlines() if line.startswith("data: ")]
    assert statuses == ["requested", "rejected"]
    assert gw.bus.changes.followers == {}  # the stream let go of the booking when it ended


async def test_a_closed_session_is_refused_at_once_as_closed(tmp_path):
    view, day = AvailabilityView(), next_office_day()
    full(view, "GRESIK", day, "siang", closed=True)
    api, _, dev = gateway_app(tmp_path, availability=view)
    async with client_for(api) as client:
        response = await client.post(
            "/v1/bookings",
            json=booking_body("GRESIK", day, "siang", 1),
            headers=bearer(dev) | {"Idempotency-Key": "closed-try-001"},
        )
    assert (response.status_code, response.json()["code"]) == (422, "office_closed")


async def test_the_calendar_comes_from_the_read_model(tmp_path):
    view, services, day = AvailabilityView(window_days=60), FakeServices(), next_office_day()
    full(view, "GRESIK", day, "pagi")
    api, _, _ = gateway_app(tmp_path, services, availability=view)
    async with client_for(api) as client:
        response = await client.get(
            "/v1/offices/GRESIK/calendar", params={"start": day.isoformat(), "end": day.isoformat()}
        )
    pagi, siang = response.json()["sessions"]
    assert (pagi["booked"], pagi["remaining"], pagi["open"], pagi["reason"]) == (100, 0, False, "sold_out")
    assert (siang["capacity"], siang["booked"], siang["remaining"], siang["open"]) == (100, 0, 100, True)
    assert services.asked == []


async def test_the_nearest_office_with_a_free_slot_skips_full_ones(tmp_path):
    view, day = AvailabilityView(), next_office_day()
    full(view, "GRESIK", day, "pagi")
    full(view, "GRESIK", day, "siang")
    api, _, _ = gateway_app(tmp_path, availability=view)
    async with client_for(api) as client:  # Lamongan has no office: Gresik is the nearest, but it is full
        response = await client.get(
            "/v1/free-slots",
            params={"lat": -7.12, "lon": 112.42, "start": day.isoformat(), "end": day.isoformat(), "limit": 2},
        )
    found = response.json()
    assert response.status_code == 200 and len(found) == 2
    assert "GRESIK" not in [f["office"]["code"] for f in found]
    assert found[0]["office"]["distance_km"] <= found[1]["office"]["distance_km"]
    assert found[0]["session"]["open"] is True


async def test_offices_by_province_by_name_and_by_distance(tmp_path):
    api, _, _ = gateway_app(tmp_path)
    async with client_for(api) as client:
        east_java = (await client.get("/v1/offices", params={"province": "jawa timur"})).json()
        named = (await client.get("/v1/offices", params={"q": "gresik"})).json()
        near = (await client.get("/v1/offices", params={"lat": -7.12, "lon": 112.42, "limit": 3})).json()
        half = await client.get("/v1/offices", params={"lat": -7.12})
    assert east_java and {o["province"] for o in east_java} == {"Jawa Timur"}
    assert [o["code"] for o in named] == ["GRESIK"]
    assert near[0]["code"] == "GRESIK" and near[0]["distance_km"] < near[1]["distance_km"]
    assert half.status_code == 422 and half.json()["code"] == "invalid_request"


async def test_guide_content_is_there_in_indonesian_and_english(tmp_path):
    api, _, _ = gateway_app(tmp_path)
    async with client_for(api) as client:
        indonesian = (await client.get("/v1/info")).json()
        english = (await client.get("/v1/info/fees", params={"lang": "en"})).json()
        missing = await client.get("/v1/info/visa")
    assert {t["topic"] for t in indonesian} == {"requirements", "fees", "what-to-bring", "queue"}
    assert all(t["language"] == "id" and t["items"] for t in indonesian)
    assert english["language"] == "en" and any("Rp350,000" in item for item in english["items"])
    assert missing.status_code == 404 and missing.json()["code"] == "not_found"


async def test_too_many_requests_from_one_account_are_refused_with_retry_after(tmp_path):
    api, _, dev = gateway_app(tmp_path, limits=Limits(RateLimiter(1000), RateLimiter(2, 1.0), RateLimiter(1000)))
    headers = bearer(dev)
    async with client_for(api) as client:
        answers = [await client.get("/v1/bookings", headers=headers) for _ in range(3)]
        someone_else = await client.get("/v1/bookings", headers=bearer(dev, "budi@example.com", "device-budi-0001"))
    assert [a.status_code for a in answers] == [200, 200, 429]
    assert answers[2].json()["code"] == "rate_limited" and int(answers[2].headers["Retry-After"]) >= 1
    assert someone_else.status_code == 200


async def test_too_many_requests_from_one_address_or_device_are_refused(tmp_path):
    api, _, dev = gateway_app(tmp_path, limits=Limits(RateLimiter(1, 1.0), RateLimiter(1000), RateLimiter(1000)))
    async with client_for(api) as client:
        first, second = await client.get("/health"), await client.get("/health")
    assert (first.status_code, second.status_code) == (200, 429) and "Retry-After" in second.headers
    api, _, dev = gateway_app(tmp_path, limits=Limits(RateLimiter(1000), RateLimiter(1000), RateLimiter(1, 1.0)))
    async with client_for(api) as client:
        one = await client.get("/v1/me/terms", headers=bearer(dev, "a@example.com", "shared-device-01"))
        two = await client.get("/v1/me/terms", headers=bearer(dev, "b@example.com", "shared-device-01"))
    assert (one.status_code, two.status_code) == (200, 429)


async def test_a_body_larger_than_the_limit_is_refused_before_it_is_read(tmp_path):
    api, _, dev = gateway_app(tmp_path)
    headers = bearer(dev) | {"Idempotency-Key": "big-body-0001", "Content-Type": "application/json"}
    async with client_for(api) as client:
        declared = await client.post("/v1/bookings", content=b"{" + b" " * 20000 + b"}", headers=headers)

        async def chunks():
            for _ in range(20):
                yield b" " * 1000

        streamed = await client.post("/v1/bookings", content=chunks(), headers=headers)
    assert declared.status_code == streamed.status_code == 413
    assert declared.json()["code"] == streamed.json()["code"] == "payload_too_large"


class BrokenServices(FakeServices):
    async def ask(self, subject, message):
        raise RuntimeError("a bug deep inside, with secrets in its trace")


async def test_a_bug_answers_a_problem_without_a_stack_trace(tmp_path):
    api, _, dev = gateway_app(tmp_path, BrokenServices())
    broken = httpx.AsyncClient(transport=httpx.ASGITransport(api, raise_app_exceptions=False), base_url="http://g")
    async with signing(broken) as client:
        response = await client.get("/v1/bookings", headers=bearer(dev))
    assert response.status_code == 500 and response.json()["code"] == "internal_error"
    assert "Traceback" not in response.text and "secrets" not in response.text


async def test_metrics_count_requests_by_route_and_fast_refusals(tmp_path):
    view, day = AvailabilityView(), next_office_day()
    full(view, "GRESIK", day, "pagi")
    api, _, dev = gateway_app(tmp_path, availability=view)
    async with client_for(api) as client:
        await client.get("/v1/offices/GRESIK")
        await client.post(
            "/v1/bookings",
            json=booking_body("GRESIK", day, "pagi", 1),
            headers=bearer(dev) | {"Idempotency-Key": "metric-key-001"},
        )
        text = (await client.get("/metrics")).text
    assert 'paspor_gateway_requests_total{method="GET",route="/v1/offices/{code}",status="200"} 1.0' in text
    assert 'paspor_gateway_fast_refusals_total{reason="sold_out"} 1.0' in text


async def test_metrics_show_the_bookings_in_flight_the_queue_in_front_of_the_pipeline(tmp_path):
    class SlowServices(FakeServices):
        def __init__(self) -> None:
            super().__init__()
            self.arrived, self.go_on = asyncio.Event(), asyncio.Event()

        async def ask(self, subject, message):  # noqa: ANN001, ANN201
            if subject == Commands.REQUEST_BOOKING:
                self.arrived.set()
                await self.go_on.wait()
            return await super().ask(subject, message)

    services = SlowServices()
    api, _, dev = gateway_app(tmp_path, services)
    in_flight = "paspor_gateway_bookings_in_flight"
    async with client_for(api) as client:
        booking = asyncio.create_task(
            client.post(
                "/v1/bookings",
                json=booking_body("GRESIK", next_office_day(), "pagi", 1),
                headers=bearer(dev) | {"Idempotency-Key": "in-flight-key-01"},
            )
        )
        await services.arrived.wait()
        during = (await client.get("/metrics")).text
        services.go_on.set()
        assert (await booking).status_code == 201
        after = (await client.get("/metrics")).text
    assert f"{in_flight} 1.0" in during and f"{in_flight} 0.0" in after


async def test_the_openapi_document_has_an_example_for_every_operation_and_links_the_asyncapi_one(tmp_path):
    api, _, _ = gateway_app(tmp_path)
    async with client_for(api) as client:
        openapi = (await client.get("/openapi.json")).json()
        asyncapi = (await client.get("/asyncapi.json")).json()
    missing = []
    for path, operations in openapi["paths"].items():
        for method, operation in operations.items():
            answers = [r for code, r in operation["responses"].items() if code in ("200", "201")]
            media = [m for r in answers for t, m in r.get("content", {}).items() if t != "image/png"]  # PNG: binary
            if not all("example" in m for m in media):
                missing.append(f"{method.upper()} {path}")
            assert "application/problem+json" in operation["responses"]["default"]["content"]
    assert missing == []
    assert "/asyncapi.json" in openapi["info"]["description"]
    assert "event booking.confirmed" in asyncapi["channels"] and "command booking.request" in asyncapi["channels"]
    assert "BookingConfirmed" in asyncapi["components"]["schemas"]


async def test_the_bookings_list_is_paged_newest_first_and_a_client_without_paging_gets_the_latest(tmp_path):
    services, day = FakeServices(), next_office_day()
    api, _, dev = gateway_app(tmp_path, services)
    async with client_for(api) as client:
        made = []
        for i in range(5):
            headers = bearer(dev) | {"Idempotency-Key": f"paged-key-{i:04d}"}
            made.append(await client.post("/v1/bookings", json=booking_body("GRESIK", day, "pagi", 1), headers=headers))
        plain = await client.get("/v1/bookings", headers=bearer(dev))
        first = await client.get("/v1/bookings", params={"limit": 2}, headers=bearer(dev))
        pages, cursor = [first], first.headers.get("X-Next-Cursor")
        while cursor:
            pages.append(await client.get("/v1/bookings", params={"limit": 2, "cursor": cursor}, headers=bearer(dev)))
            cursor = pages[-1].headers.get("X-Next-Cursor")
        bad = await client.get("/v1/bookings", params={"limit": 0}, headers=bearer(dev))
        worse = await client.get("/v1/bookings", params={"cursor": "soon"}, headers=bearer(dev))
    newest_first = [r.json()["booking_id"] for r in reversed(made)]
    assert [b["booking_id"] for b in plain.json()] == newest_first and "X-Next-Cursor" not in plain.headers
    assert [len(p.json()) for p in pages] == [2, 2, 1]
    assert [b["booking_id"] for p in pages for b in p.json()] == newest_first
    assert first.headers["Link"].endswith('rel="next"')
    assert bad.status_code == worse.status_code == 422
