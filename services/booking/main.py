"""The booking service: settings, wiring and the runnable service."""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
from concurrent.futures import ThreadPoolExecutor

from pydantic import Field, field_validator

from shared.runtime.faults import CrashPoint
from shared.runtime.service import Runtime
from shared.runtime.settings import CommonSettings
from shared.runtime.store import pseudonyms_of, store_env
from shared.sessions import DEFAULT_SESSION_HOURS_TEXT, parse_session_hours

from .application import BookingApplication
from .domain import Rules
from .fastpath import FastPath
from .grouping import DecisionGroups, RequestGroups
from .identity_key import check_identity_key
from .messaging import (
    ATTENDANCE,
    OUTCOMES,
    Concurrency,
    Threads,
    ask_over,
    outcome_handler,
    register_commands,
    to_wire,
)


class BookingSettings(CommonSettings):
    """Booking service settings (PASPOR_BOOKING_*; PASPOR_QUOTA_WINDOW_DAYS and _RELEASE_TIME shared with quota)."""

    booking_max_registrations: int = Field(default=5, ge=1, le=100, description="Registrations per account, ever.")
    booking_spacing_days: int = Field(default=30, ge=0, le=365, description="Days between two registrations.")
    booking_cooldown_days: int = Field(default=30, ge=0, le=365, description="Days after a cancellation.")
    booking_device_move_days: int = Field(
        default=7, ge=0, le=365, description="Days between two moves of an account to a new device."
    )
    booking_terms_version: str = Field(
        default="2026.1",
        max_length=40,
        description="Terms and conditions version to accept before booking; empty: none.",
    )
    booking_profile_required: bool = Field(default=False, description="Require a profile (and its KK) before booking.")
    booking_group_size: int = Field(
        default=500, ge=1, le=10000, description="Most requests decided and saved together (1: one save per request)."
    )
    booking_cache_fastforward: bool = Field(
        default=True,
        description="Catch cached aggregates up with the store on each read: needed when replicas share a store.",
    )
    booking_fast_path: bool = Field(
        default=True,
        description="Decide a booking in one round trip: ask the office's quota worker at once and record its "
        "answer (false: leave every decision to the asynchronous pipeline).",
    )
    booking_fast_path_deadline: float = Field(
        default=2.0,
        gt=0,
        le=30,
        description="Seconds to wait for quota's answer on the fast path; after that the pipeline finishes the booking.",
    )
    booking_fault_crash_after_decisions: int = Field(
        default=0,
        ge=0,
        description="TEST HOOK, for fault tests only (0: off): the service kills itself (SIGKILL) on receiving its "
        "N-th fast-path decision from quota, before recording it.",
    )
    booking_snapshot_interval: int = Field(
        default=50, ge=0, le=100000, description="Events between two snapshots of an account (0: no snapshots)."
    )
    booking_readers: int = Field(default=4, ge=1, le=64, description="Threads reading bookings beside the writer.")
    booking_request_concurrency: int = Field(
        default=1000,
        ge=1,
        le=100000,
        description="Booking requests handled at once (two full groups: one being saved, the next gathering).",
    )
    booking_query_concurrency: int = Field(
        default=64, ge=1, le=10000, description="Other commands and queries at once."
    )
    quota_window_days: int = Field(
        default=60, ge=1, le=366, description="Days open for booking ahead: the quota service's own setting."
    )
    quota_release_time: dt.time = Field(
        default=dt.time(0, 0), description="Local time a new date opens: the quota service's own setting."
    )
    session_hours: str = Field(
        default=DEFAULT_SESSION_HOURS_TEXT,
        description="Sessions in office time (PASPOR_SESSION_HOURS, shared with the notifier).",
    )

    @field_validator("session_hours")
    @classmethod
    def _valid_hours(cls, value: str) -> str:
        parse_session_hours(value)
        return value


def rules_from(settings: BookingSettings) -> Rules:
    return Rules(
        max_registrations=settings.booking_max_registrations,
        spacing_days=settings.booking_spacing_days,
        cooldown_days=settings.booking_cooldown_days,
        device_move_days=settings.booking_device_move_days,
        window_days=settings.quota_window_days,
        release_time=settings.quota_release_time,
        terms_version=settings.booking_terms_version,
        profile_required=settings.booking_profile_required,
        session_hours=parse_session_hours(settings.session_hours),
    )


def build_application(settings: BookingSettings) -> BookingApplication:
    """The booking application on the configured store, personal data encrypted at rest."""
    env = store_env(settings, "booking", encrypt=True)
    env["AGGREGATE_CACHE_FASTFORWARD"] = "y" if settings.booking_cache_fastforward else "n"
    readers = max(settings.postgres_pool_size - 1, 1) if settings.event_store == "postgres" else 1
    app = BookingApplication(
        pseudonyms_of(settings),
        env=env,
        rules=rules_from(settings),
        readers=readers,
        snapshot_every=settings.booking_snapshot_interval,
    )
    try:
        check_identity_key(app, app.pseudonyms)
    except BaseException:
        app.close()
        raise
    return app


async def run(settings: BookingSettings | None = None, runtime: Runtime | None = None) -> None:
    """Run a booking service until stopped (SIGTERM or Ctrl-C)."""
    settings = settings or BookingSettings()
    runtime = runtime or Runtime("booking", settings)
    app = build_application(settings)
    await runtime.start()
    relay = runtime.relay(app, functools.partial(to_wire, partitions=settings.partitions))
    groups = RequestGroups(app, runtime.writer, relay.wake, settings.booking_group_size)
    readers = ThreadPoolExecutor(settings.booking_readers, thread_name_prefix="booking-reader")
    runtime.on_stop.append(lambda: readers.shutdown(wait=False, cancel_futures=True))
    fast = None
    if settings.booking_fast_path:
        decisions = DecisionGroups(app, runtime.writer, relay.wake, settings.booking_group_size)
        crash = CrashPoint(settings.booking_fault_crash_after_decisions)
        fast = FastPath(
            ask_over(runtime.nc), decisions, settings.partitions, settings.booking_fast_path_deadline, crash
        )
    limits = Concurrency(settings.booking_request_concurrency, settings.booking_query_concurrency)
    register_commands(runtime.broker, app, Threads(runtime.writer, readers), relay.wake, groups, fast, limits)
    handler = outcome_handler(app, runtime.writer, relay.wake)
    runtime.spawn(runtime.consumer(OUTCOMES, handler).run(), "outcomes")
    runtime.spawn(runtime.consumer(ATTENDANCE, handler).run(), "attendance")
    runtime.spawn(relay.run(), "relay")
    runtime.on_stop.append(app.close)
    await runtime.serve()


def main() -> None:
    asyncio.run(run())
