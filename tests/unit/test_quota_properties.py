"""Property: whatever the sequence of requests, duplicates, cancellations, capacity changes and
closures, a session never grants more than its capacity, numbers are unique, and every request
gets exactly one outcome — checked against a plain model."""

from __future__ import annotations

import uuid

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule
from support import NOW, bookable_day

from services.quota.application import QuotaApplication
from shared.events import BookingCancelled, BookingRequested, Slot
from shared.offices import office_by_code
from shared.runtime.settings import CommonSettings
from shared.runtime.store import store_env

SESSIONS = ("pagi", "siang")


class QuotaMachine(RuleBasedStateMachine):
    """The application against a model: capacity, holders and outcomes per session."""

    def __init__(self) -> None:
        super().__init__()
        self.app = QuotaApplication(env=store_env(CommonSettings(event_store="memory"), "quota"))
        self.day = bookable_day(4)
        self.office = office_by_code("GRESIK")
        self.capacity = {s: self.office.capacity_per_session for s in SESSIONS}
        self.closed = {s: False for s in SESSIONS}
        self.holders: dict[str, set[str]] = {s: set() for s in SESSIONS}
        self.sent: dict[str, BookingRequested] = {}
        self.granted_over_capacity = False

    def slot(self, session: str) -> Slot:
        return Slot(office=self.office.code, date=self.day, session=session)

    def quota(self, session: str):
        return self.app.quota(self.office, self.day, session)

    @rule(session=st.sampled_from(SESSIONS), n=st.integers(1, 30), capacity=st.integers(0, 8))
    def rush(self, session: str, n: int, capacity: int) -> None:
        if self.quota(session) is None:  # keep sessions small so they fill up
            self.app.change_capacity(self.office.code, self.day, [session], capacity, by="test")
            self.capacity[session] = capacity
        batch = [BookingRequested(booking_id=uuid.uuid4(), slot=self.slot(session), applicants=1) for _ in range(n)]
        before = len(self.holders[session])
        self.app.apply_batch(batch, NOW)
        for request in batch:
            self.sent[str(request.booking_id)] = request
        quota = self.quota(session)
        granted = [r for r in batch if quota.queue_number(str(r.booking_id)) is not None]
        expected = 0 if self.closed[session] else max(0, min(n, self.capacity[session] - before))
        assert len(granted) == expected
        self.holders[session].update(str(r.booking_id) for r in granted)

    @precondition(lambda self: self.sent)
    @rule(data=st.data())
    def duplicate(self, data: st.DataObject) -> None:
        request = self.sent[data.draw(st.sampled_from(sorted(self.sent)))]
        quota = self.quota(request.slot.session.value)
        version = quota.version
        self.app.apply_batch([request, request], NOW)
        assert quota.version == version

    @precondition(lambda self: any(self.holders.values()))
    @rule(data=st.data())
    def cancel(self, data: st.DataObject) -> None:
        session = data.draw(st.sampled_from([s for s in SESSIONS if self.holders[s]]))
        booking_id = data.draw(st.sampled_from(sorted(self.holders[session])))
        self.app.apply_batch(
            [BookingCancelled(booking_id=uuid.UUID(booking_id), slot=self.slot(session), was_confirmed=True)], NOW
        )
        self.holders[session].discard(booking_id)

    @rule(session=st.sampled_from(SESSIONS), capacity=st.integers(0, 10))
    def change_capacity(self, session: str, capacity: int) -> None:
        self.app.change_capacity(self.office.code, self.day, [session], capacity, by="test")
        self.capacity[session] = capacity

    @rule(session=st.sampled_from(SESSIONS))
    def close(self, session: str) -> None:
        self.app.close_sessions(self.office.code, self.day, [session], "unplanned closure", by="test")
        self.closed[session] = True
        self.holders[session].clear()

    @invariant()
    def matches_the_model(self) -> None:
        for session in SESSIONS:
            quota = self.quota(session)
            if quota is None:
                continue
            assert set(quota.reservations) == {uuid.UUID(b).int for b in self.holders[session]}
            numbers = list(quota.reservations.values())
            assert len(numbers) == len(set(numbers)), "queue numbers are unique"
            assert all(1 <= n for n in numbers)

    @invariant()
    def every_request_has_exactly_one_outcome(self) -> None:
        for booking_id, request in self.sent.items():
            quota = self.quota(request.slot.session.value)
            outcomes = [
                quota.queue_number(booking_id) is not None,
                quota.rejection(booking_id) is not None,
                uuid.UUID(booking_id).int in quota.released,
            ]
            assert sum(outcomes) == 1, f"{booking_id}: {outcomes}"


QuotaMachine.TestCase.settings = settings(max_examples=60, stateful_step_count=25, deadline=None)
test_quota_never_overbooks = QuotaMachine.TestCase
