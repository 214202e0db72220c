"""The notifier service: settings, wiring and the runnable service."""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
from pathlib import Path

from pydantic import Field, SecretStr, field_validator

from shared.events import utcnow
from shared.keys import private_key_from_pem
from shared.runtime.service import Runtime
from shared.runtime.settings import CommonSettings
from shared.runtime.store import store_env
from shared.sessions import DEFAULT_SESSION_HOURS_TEXT, parse_session_hours

from .admission import AdmissionPolicy
from .application import DESK_DAYS, NotifierApplication
from .keys import TrustedKeys, load_or_create_signing_key, publish_public_key
from .messaging import BOOKINGS, batch_handler, register_queries, to_wire
from .offers import telling_offers
from .reminders import make_sink
from .sweeps import every, no_shows_once, reminders_once


class NotifierSettings(CommonSettings):
    """Notifier settings (PASPOR_NOTIFIER_*, and PASPOR_SESSION_HOURS shared with the booking service)."""

    notifier_keys_dir: Path | None = Field(
        default=None, description="Folder of the ticket keys (public keys, revocations); default: <data_dir>/keys."
    )
    notifier_signing_key: SecretStr | None = Field(
        default=None, description="The ticket signing key (Ed25519, PEM); default: generated in the keys folder."
    )
    session_hours: str = Field(default=DEFAULT_SESSION_HOURS_TEXT, description="Sessions, office time.")
    notifier_checkin_early_minutes: int = Field(
        default=60, ge=0, le=720, description="Check-in opens before a session."
    )
    notifier_checkin_grace_minutes: int = Field(default=30, ge=0, le=720, description="Check-in stays open after it.")
    notifier_reminder_sink: str = Field(default="log", description="log, file:<path> or a webhook http(s):// URL.")
    notifier_reminder_time: dt.time = Field(
        default=dt.time(9, 0), description="Reminders go out from this office time, the day before."
    )
    notifier_sweep_seconds: float = Field(
        default=30.0, gt=0, description="How often no-shows and reminders are looked for."
    )
    notifier_cache_size: int = Field(
        default=20_000,
        ge=1_000,
        le=5_000_000,
        description="Tickets the service keeps in memory, the least recently used forgotten first and read again "
        "from the store when asked (about 1.5 KB each).",
    )
    notifier_desk_days: int = Field(
        default=DESK_DAYS,
        ge=1,
        le=3660,
        description="Past days whose check-in desk lists (ticket ids by office and date) the service keeps in "
        "memory, about 80 bytes a ticket; an older day's list is read from the event store when asked (slower).",
    )

    @field_validator("session_hours")
    @classmethod
    def _hours(cls, value: str) -> str:
        parse_session_hours(value)
        return value

    def keys_dir(self) -> Path:
        return self.notifier_keys_dir or self.data_dir / "keys"

    def policy(self) -> AdmissionPolicy:
        return AdmissionPolicy(
            early=dt.timedelta(minutes=self.notifier_checkin_early_minutes),
            grace=dt.timedelta(minutes=self.notifier_checkin_grace_minutes),
            hours=parse_session_hours(self.session_hours),
        )


def build_application(settings: NotifierSettings) -> NotifierApplication:
    folder = settings.keys_dir()
    if settings.notifier_signing_key is not None:
        key = private_key_from_pem(settings.notifier_signing_key.get_secret_value().encode())
        folder.mkdir(parents=True, exist_ok=True)
        publish_public_key(folder, key.public_key())
    else:
        key = load_or_create_signing_key(folder)
    return NotifierApplication(
        key,
        env=store_env(settings, "notifier") | {"AGGREGATE_CACHE_MAXSIZE": str(settings.notifier_cache_size)},
        trusted=TrustedKeys(folder),
        policy=settings.policy(),
        desk_days=settings.notifier_desk_days,
    )


async def run(settings: NotifierSettings | None = None) -> None:
    """Run the notifier until stopped."""
    settings = settings or NotifierSettings()
    runtime = Runtime("notifier", settings)
    app = build_application(settings)
    await runtime.start()
    relay = runtime.relay(app, functools.partial(to_wire, partitions=settings.partitions))
    sink, period = make_sink(settings.notifier_reminder_sink), settings.notifier_sweep_seconds
    consumer = runtime.consumer(BOOKINGS, telling_offers(batch_handler(app, runtime.writer, relay.wake), sink))
    runtime.spawn(consumer.run(), "bookings")
    runtime.spawn(relay.run(), "relay")
    runtime.spawn(
        every(period, lambda: no_shows_once(app, runtime.writer, utcnow()), relay.wake, "no-show"), "no-shows"
    )
    runtime.spawn(
        every(
            period,
            lambda: reminders_once(app, runtime.writer, sink, utcnow(), settings.notifier_reminder_time),
            lambda: None,
            "reminder",
        ),
        "reminders",
    )
    register_queries(runtime.broker, app, runtime.writer, on_saved=relay.wake)
    runtime.on_stop.append(app.close)
    await runtime.serve()


def main() -> None:
    asyncio.run(run())
