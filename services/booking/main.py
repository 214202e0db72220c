"""The booking service: settings, wiring and the runnable service."""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
from concurrent.futures import ThreadPoolExecutor

from pydantic import Field, field_validator

from shared.draw import DrawWindow
from shared.runtime.faults import CrashPoint
from shared.runtime.service import Runtime
from shared.runtime.settings import CommonSettings
from shared.runtime.store import pseudonyms_of, store_env
from shared.sessions import DEFAULT_SESSION_HOURS_TEXT, parse_session_hours

from .application import BookingApplication
from .billing import PaymentPolicy
from .domain import Rules
from .expiry import Holds, expire_holds
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
from .offers import OfferDesk


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
    booking_cache_size: int = Field(
        default=100_000,
        ge=1_000,
        le=5_000_000,
        description="Aggregates (accounts, bookings, NIK claims, device bindings) the service keeps in memory, the "
        "least recently used forgotten first and read again from the store when asked (about 1-1.5 KB each).",
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
    booking_payment_hold_minutes: float = Field(
        default=120,
        ge=0,
        le=7 * 24 * 60,
        description="Minutes a confirmed booking is held for its fee (PNBP) to be paid, never past the day before "
        "the appointment; unpaid then, it is voided and its slot released (0: no fee is asked).",
    )
    booking_payment_tick: float = Field(
        default=1.0, gt=0, le=300, description="Seconds between two looks for payment deadlines that passed."
    )
    quota_window_days: int = Field(
        default=60, ge=1, le=366, description="Days open for booking ahead: the quota service's own setting."
    )
    quota_release_time: dt.time = Field(
        default=dt.time(0, 0), description="Local time a new date opens: the quota service's own setting."
    )
    quota_draw: bool = Field(
        default=True, description="Dates are released with a draw: the quota service's own setting (PASPOR_QUOTA_DRAW)."
    )
    quota_draw_before_minutes: float = Field(
        default=10, ge=0, le=1440, description="Minutes before a release that requests join its draw: quota's own."
    )
    quota_draw_after_minutes: float = Field(
        default=5, ge=0, le=1440, description="Minutes after a release that requests join its draw: quota's own."
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
        draw=draw_window(settings),
    )


def draw_window(settings: BookingSettings) -> DrawWindow | None:
    """The quota's draw window, as its settings (shared) give it; None when dates are released without a draw."""
    if not settings.quota_draw:
        return None
    minutes = dt.timedelta(minutes=1)
    return DrawWindow(
        before=settings.quota_draw_before_minutes * minutes, after=settings.quota_draw_after_minutes * minutes
    )


def payment_policy(settings: BookingSettings) -> PaymentPolicy:
    minutes = settings.booking_payment_hold_minutes
    return PaymentPolicy(hold=dt.timedelta(minutes=minutes) if minutes else None)


def build_application(settings: BookingSettings) -> BookingApplication:
    """The booking application on the configured store, personal data encrypted at rest."""
    env = store_env(settings, "booking", encrypt=True)
    env["AGGREGATE_CACHE_FASTFORWARD"] = "y" if settings.booking_cache_fastforward else "n"
    env["AGGREGATE_CACHE_MAXSIZE"] = str(settings.booking_cache_size)  # memory bounded (the soak, BENCHMARKS.md)
    readers = max(settings.postgres_pool_size - 1, 1) if settings.event_store == "postgres" else 1
    app = BookingApplication(
        pseudonyms_of(settings),
        env=env,
        rules=rules_from(settings),
        readers=readers,
        snapshot_every=settings.booking_snapshot_interval,
        payment=payment_policy(settings),
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
    relay = runtime.relay(app, functools.partial(to_wire, partitions=settings.partitions, pseudonyms=app.pseudonyms))
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
        fast.pseudonyms = app.pseudonyms  # the request it asks about carries its keyed draw ids
    limits = Concurrency(settings.booking_request_concurrency, settings.booking_query_concurrency)
    register_commands(runtime.broker, app, Threads(runtime.writer, readers), relay.wake, groups, fast, limits)
    offers = DecisionGroups(app, runtime.writer, relay.wake, settings.booking_group_size)
    OfferDesk(app, runtime.writer, ask_over(runtime.nc), offers, settings.partitions).register(runtime.broker)
    handler = outcome_handler(app, runtime.writer, relay.wake)
    runtime.spawn(runtime.consumer(OUTCOMES, handler).run(), "outcomes")
    runtime.spawn(runtime.consumer(ATTENDANCE, handler).run(), "attendance")
    runtime.spawn(relay.run(), "relay")
    runtime.spawn(expire_holds(Holds(app), runtime.writer, relay.wake, settings.booking_payment_tick), "payment holds")
    runtime.on_stop.append(app.close)
    await runtime.serve()


def main() -> None:
    asyncio.run(run())
