"""The booking service: settings, wiring and the runnable service."""

from __future__ import annotations

import asyncio
import functools

from pydantic import Field

from shared.runtime.consumer import BatchConsumer
from shared.runtime.relay import Relay
from shared.runtime.service import Runtime
from shared.runtime.settings import CommonSettings
from shared.runtime.store import store_env

from .application import BookingApplication
from .domain import Rules
from .messaging import OUTCOMES, outcome_handler, register_commands, to_wire


class BookingSettings(CommonSettings):
    """Booking service settings (PASPOR_BOOKING_*)."""

    booking_max_registrations: int = Field(default=5, ge=1, le=100, description="Registrations per account, ever.")
    booking_spacing_days: int = Field(default=30, ge=0, le=365, description="Days between two registrations.")
    booking_cooldown_days: int = Field(default=30, ge=0, le=365, description="Days after a cancellation.")


def build_application(settings: BookingSettings) -> BookingApplication:
    """The booking application on the configured store, personal data encrypted at rest."""
    rules = Rules(settings.booking_max_registrations, settings.booking_spacing_days, settings.booking_cooldown_days)
    return BookingApplication(env=store_env(settings, "booking", encrypt=True), rules=rules)


async def run(settings: BookingSettings | None = None) -> None:
    """Run a booking service until stopped."""
    settings = settings or BookingSettings()
    runtime = Runtime("booking", settings)
    app = build_application(settings)
    js = await runtime.start()
    relay = Relay("booking", app, js, functools.partial(to_wire, partitions=settings.partitions), runtime.writer)
    register_commands(runtime.broker, app, runtime.writer, relay.wake)
    consumer = BatchConsumer(js, OUTCOMES, outcome_handler(app, runtime.writer, relay.wake), "booking")
    runtime.spawn(consumer.run(), "outcomes")
    runtime.spawn(relay.run(), "relay")
    runtime.on_stop.append(app.close)
    await runtime.serve()


def main() -> None:
    asyncio.run(run())
