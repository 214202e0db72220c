"""A quota worker killed with SIGKILL while a waitlist hold stands: the hold lives in the store, not in the
worker's memory. The restarted worker finds it, lapses it on time by the clock (the suite's pinned clock,
shared by every process), offers the place to the next one waiting, and nobody holds the place twice."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid

from quota_rush import publish, start_worker, stop, wait_ready
from support import bookable_day, wait_until

from paspor.audit.findings import AuditResult
from paspor.audit.quota_ledger import QuotaLedger
from paspor.audit.records import open_store
from paspor.audit.run import replay
from paspor.audit.scope import Scope
from services.quota.application import QuotaApplication
from services.quota.domain import SessionQuota
from services.quota.waitlist import Waitlist
from shared import clock
from shared.events import BookingCancelled, BookingRequested, Slot
from shared.runtime.settings import CommonSettings
from shared.runtime.store import store_env

HOLD = dt.timedelta(seconds=20)  # longer than a worker's restart, even on a busy machine
TICK = dt.timedelta(seconds=0.5)
LEASE_TTL = dt.timedelta(seconds=2)
SLOT = Slot(office="GRESIK", date=bookable_day(30), session="siang")


def asks(n: int, waitlist: bool) -> list[BookingRequested]:
    return [BookingRequested(booking_id=uuid.uuid4(), slot=SLOT, applicants=1, waitlist=waitlist) for _ in range(n)]


def stored_waitlist_events(settings: CommonSettings) -> list:
    app = QuotaApplication(env=store_env(settings, "quota"))
    try:
        quota_id = SessionQuota.id_for(SLOT.office, SLOT.date, SLOT.session.value)
        return [e for e in app.repository.event_store.get(quota_id) if isinstance(e, Waitlist.Event)]
    finally:
        app.close()


def of_kind(events: list, kind: type) -> list:
    return [e for e in events if isinstance(e, kind)]


def test_a_hold_outlives_a_killed_worker_and_still_lapses_on_time_to_the_next_in_line(nats_server, tmp_path):
    env = {
        "PASPOR_QUOTA_HOLD_SECONDS": str(int(HOLD.total_seconds())),
        "PASPOR_QUOTA_HOLD_TICK_SECONDS": "0.5",
        # The killed worker's partition lease outlives it by at most its TTL: the new one decides after that.
        "PASPOR_QUOTA_LEASE_TTL_SECONDS": str(int(LEASE_TTL.total_seconds())),
        "PASPOR_QUOTA_LEASE_RENEW_SECONDS": "0.5",
    }
    settings = CommonSettings(data_dir=tmp_path, event_store="sqlite")
    booked, (a, b) = asks(100, waitlist=False), asks(2, waitlist=True)  # the session (100 places) is full
    worker = start_worker(nats_server.url, tmp_path, **env)
    wait_ready([worker])
    asyncio.run(publish(nats_server.url, booked + [a, b]))
    cancel = BookingCancelled(booking_id=booked[0].booking_id, slot=SLOT, was_confirmed=True)
    asyncio.run(publish(nats_server.url, [cancel]))  # type: ignore[list-item]
    wait_until(
        lambda: of_kind(stored_waitlist_events(settings), Waitlist.HoldOffered), 30, "a hold offered to A", every=0.2
    )

    worker.kill()  # SIGKILL while A's hold stands
    worker.wait()
    lease_free = clock.now() + LEASE_TTL  # the lease it held lapses unrenewed by then
    (offered,) = of_kind(stored_waitlist_events(settings), Waitlist.HoldOffered)
    assert offered.booking_id == str(a.booking_id) and offered.deadline == offered.at + HOLD
    assert clock.now() < offered.deadline, "killed while the hold stands"
    worker = start_worker(nats_server.url, tmp_path, **env)
    try:
        wait_ready([worker])
        back = max(clock.now(), lease_free)  # it decides once it holds the lease; a hold due by then lapses at once
        wait_until(
            lambda: of_kind(stored_waitlist_events(settings), Waitlist.HoldLapsed), 30, "A's hold lapsed", every=0.2
        )
        wait_until(lambda: len(of_kind(stored_waitlist_events(settings), Waitlist.HoldOffered)) == 2, 10, "B offered")
    finally:
        stop([worker])

    events = stored_waitlist_events(settings)
    (lapsed,) = of_kind(events, Waitlist.HoldLapsed)
    assert lapsed.booking_id == str(a.booking_id)
    assert offered.deadline <= lapsed.at, "never before its deadline"
    assert lapsed.at <= max(offered.deadline, back) + TICK * 4, "lapsed on time by the clock, not late"
    first, second = of_kind(events, Waitlist.HoldOffered)
    assert second.booking_id == str(b.booking_id) and second.queue_number == first.queue_number
    assert second.at == lapsed.at, "the place went on to B in the same step"
    assert audit_of_quota(settings).findings == [], "no place held twice, holds within capacity, none overdue"


def audit_of_quota(settings: CommonSettings) -> AuditResult:
    result, scope = AuditResult(), Scope()
    ledger = QuotaLedger(result, scope)
    reader = open_store(settings, "quota")
    try:
        replay(reader, ledger, result, scope, lambda store, done, total: None)
    finally:
        reader.close()
    ledger.waitlist.finish(clock.now())
    assert ledger.waitlist.offered == 2 and ledger.waitlist.lapsed == 1
    return result
