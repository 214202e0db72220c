"""Two quota workers on one store, one of which lost its partition: the fence refuses the stale owner's saves.

The lease (NATS KV) says who should decide; these stories show what makes it safe when a worker does not
know yet that it lost it (paused, cut off): every save extends the partition's fence at the owner's epoch,
and a new owner's `Taken` got there first. They run on each store, without NATS.
"""

from __future__ import annotations

import datetime as dt
import uuid
from pathlib import Path

import pytest
from eventsourcing.persistence import IntegrityError
from support import NOW, bookable_day

from services.quota.application import QuotaApplication
from services.quota.domain import SessionQuota
from services.quota.fence import Fenced, Partition
from services.quota.fencing import NotOwner, Ownership
from services.quota.main import QuotaSettings, build_application
from shared.events import BookingCancelled, BookingRequested, Slot, partition_of

PARTITIONS = 8
SLOT = Slot(office="GRESIK", date=bookable_day(6), session="pagi")
PARTITION = partition_of(SLOT.office, PARTITIONS)


@pytest.fixture(params=["sqlite", "postgres"])
def workers(request, tmp_path: Path):
    """Two quota applications on one store, as two worker processes configured for the same partition."""
    settings = {"event_store": request.param, "data_dir": tmp_path, "quota_window_days": 366}
    if request.param == "postgres":
        settings["postgres_url"] = request.getfixturevalue("fresh_postgres")
    apps = []
    for _ in range(2):
        app = build_application(QuotaSettings(**settings))
        app.ownership = Ownership(app, PARTITIONS)
        apps.append(app)
    yield apps
    for app in apps:
        app.close()


def requested(n: int = 1) -> list[BookingRequested]:
    return [BookingRequested(booking_id=uuid.uuid4(), slot=SLOT, applicants=1) for _ in range(n)]


def cancelled(request: BookingRequested) -> BookingCancelled:
    return BookingCancelled(booking_id=request.booking_id, slot=SLOT, was_confirmed=True)


def test_a_worker_that_holds_no_lease_decides_nothing(workers):
    first, _ = workers
    with pytest.raises(NotOwner):
        first.apply_batch(requested(), NOW)
    assert first.recorder.max_notification_id() in (None, 0), "nothing was stored"


def test_a_stale_owners_save_is_refused_by_the_fence_and_it_lets_the_partition_go(workers):
    stale, new = workers
    assert stale.ownership.take(PARTITION, "worker-a", lease_revision=1) == 1
    early = requested(2)
    stale.apply_batch(early, NOW)  # decided while it owned the partition: stored

    assert new.ownership.take(PARTITION, "worker-b", lease_revision=7) == 2  # a = paused past its lease
    late = requested(1)
    with pytest.raises(IntegrityError):  # the partition's next version is the new owner's `Taken`
        stale.apply_batch(late, NOW)
    with pytest.raises(Fenced):  # decided again from the store: its epoch is not the partition's any more
        stale.apply_batch(late, NOW)
    assert PARTITION not in stale.ownership.owned

    assert holders_in_store(new) == {str(r.booking_id) for r in early}, "nothing the stale owner decided later"
    new.apply_batch(late, NOW)  # the owner decides it
    assert holders_in_store(new) == {str(r.booking_id) for r in early + late}
    fence = new.repository.get(Partition.id_for(PARTITION, PARTITIONS))
    assert (fence.epoch, fence.owner) == (2, "worker-b")


def test_taking_a_partition_forgets_what_was_cached_of_it_so_a_cancellation_finds_its_slot(workers):
    first, second = workers
    first.ownership.take(PARTITION, "worker-a", lease_revision=1)
    held_before = requested(1)
    first.apply_batch(held_before, NOW)  # cached by the first owner

    second.ownership.take(PARTITION, "worker-b", lease_revision=2)
    booked_meanwhile = requested(1)
    second.apply_batch(booked_meanwhile, NOW)  # the first worker's cache knows nothing of it

    first.ownership.take(PARTITION, "worker-a", lease_revision=3)  # back to the first: its cache dropped
    first.apply_batch([cancelled(booked_meanwhile[0]), cancelled(held_before[0])], NOW)
    assert holders_in_store(first) == set(), "both cancellations released their slots"
    assert first.ownership.unmatched == 0


def test_a_cancellation_that_a_stale_cache_cannot_find_is_looked_up_in_the_store(workers):
    first, second = workers
    for app in workers:  # both decide as if by configuration alone (no leases: the old misassignment)
        app.ownership = Ownership(app, PARTITIONS, enforced=False)
    first.apply_batch(requested(1), NOW)  # the session is now cached by the first worker
    booked_by_other = requested(1)
    second.apply_batch(booked_by_other, NOW)
    first.apply_batch([cancelled(booked_by_other[0])], NOW)  # its cached session does not hold it
    assert str(booked_by_other[0].booking_id) not in holders_in_store(second), "released, not silently kept"
    assert first.ownership.unmatched == 0


def test_a_cancellation_with_nothing_to_release_even_in_the_store_is_recorded(workers):
    first, _ = workers
    first.ownership.take(PARTITION, "worker-a", lease_revision=1)
    first.apply_batch(requested(1), NOW)
    stray = requested(1)[0]  # never decided here (say, its request was dead-lettered)
    first.apply_batch([cancelled(stray)], NOW)
    first.apply_batch([cancelled(stray)], NOW)  # its redelivery is not recorded twice
    fence = first.repository.get(Partition.id_for(PARTITION, PARTITIONS))
    assert list(fence.unmatched) == [str(stray.booking_id)]
    assert first.ownership.unmatched == 1


def holders_in_store(app: QuotaApplication) -> set[str]:
    """The booking ids a session holds, replayed from the store alone (no cache)."""
    session_id = SessionQuota.id_for(SLOT.office, SLOT.date, SLOT.session.value)
    holders: set[str] = set()
    for event in app.repository.event_store.get(session_id):
        if isinstance(event, SessionQuota.Decided):
            holders |= {d["booking_id"] for d in event.decisions if d["queue_number"] is not None}
        elif isinstance(event, SessionQuota.Released):
            holders.discard(event.booking_id)
    return holders


def test_cancelling_a_booking_refused_long_ago_records_nothing(workers):
    first, _ = workers
    first.ownership.take(PARTITION, "worker-a", lease_revision=1)
    first.change_capacity(SLOT.office, SLOT.date, [SLOT.session.value], 0, "op@kanim")
    refused = requested(1)
    first.apply_batch(refused, NOW)  # sold out: refused
    assert first.compact(NOW + dt.timedelta(days=1)) == 1, "the refusal is forgotten past the horizon"
    first.apply_batch([cancelled(refused[0])], NOW + dt.timedelta(days=1))
    assert first.ownership.unmatched == 0, "the store says it was refused: nothing to release, nothing odd"
