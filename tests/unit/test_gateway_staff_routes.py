"""The staff pages' own routes: an office's day list for its officers only, and the latest audit for operators."""

from __future__ import annotations

import datetime as dt

from gateway_fakes import FakeServices, bearer, client_for, gateway_app
from support import NOW, TODAY

from shared.audit_summary import AuditSummary, save_latest
from shared.events import Commands, OfficeDay


def desk_services() -> FakeServices:
    services = FakeServices()
    services.handlers[Commands.OFFICE_DAY] = lambda query: {
        "day": OfficeDay(office=query.office, date=query.date, tickets=[]).model_dump(mode="json")
    }
    return services


async def test_an_officer_sees_their_own_office_s_day_list_today_by_default_and_no_other_office_s(tmp_path):
    services = desk_services()
    api, _, dev = gateway_app(tmp_path, services)
    ani = bearer(dev, "ani@kanim", None, role="officer", office="GRESIK")
    async with client_for(api) as client:
        today = await client.get("/v1/offices/GRESIK/checkins", headers=ani)
        tomorrow = await client.get(
            "/v1/offices/GRESIK/checkins", params={"date": str(TODAY + dt.timedelta(days=1))}, headers=ani
        )
        elsewhere = await client.get("/v1/offices/JKT-SEL/checkins", headers=ani)
        unknown = await client.get("/v1/offices/NOWHERE/checkins", headers=ani)
        citizen = await client.get("/v1/offices/GRESIK/checkins", headers=bearer(dev))
        operator = await client.get("/v1/offices/GRESIK/checkins", headers=bearer(dev, "ops", None, role="operator"))

    assert today.status_code == 200 and today.json() == {"office": "GRESIK", "date": str(TODAY), "tickets": []}
    assert tomorrow.json()["date"] == str(TODAY + dt.timedelta(days=1))
    assert (elsewhere.status_code, elsewhere.json()["code"]) == (403, "forbidden")
    assert (unknown.status_code, unknown.json()["code"]) == (404, "unknown_office")
    assert (citizen.status_code, operator.status_code) == (403, 403)
    assert services.asked == [Commands.OFFICE_DAY, Commands.OFFICE_DAY], "refused callers ask no service"


async def test_operators_see_the_latest_saved_audit_or_that_none_was_saved(tmp_path):
    api, gw, dev = gateway_app(tmp_path / "keys")
    gw.data_dir = tmp_path / "data"
    ops = bearer(dev, "ops@kanim", None, role="operator")
    async with client_for(api) as client:
        before = await client.get("/v1/operator/audit", headers=ops)
        save_latest(
            AuditSummary(
                ran_at=NOW, verdict="broken", events_read=120, findings=1, broken={"over_capacity": 1}, seconds=0.4
            ),
            gw.data_dir,
        )
        after = await client.get("/v1/operator/audit", headers=ops)
        officer = await client.get(
            "/v1/operator/audit", headers=bearer(dev, "ani", None, role="officer", office="GRESIK")
        )

    assert before.status_code == 200 and before.json() == {"audit": None}
    audit = after.json()["audit"]
    assert (audit["verdict"], audit["findings"], audit["broken"]) == ("broken", 1, {"over_capacity": 1})
    assert officer.status_code == 403
