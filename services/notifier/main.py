"""The notifier service: settings, wiring and the runnable service."""

from __future__ import annotations

import asyncio
import functools
from pathlib import Path

from pydantic import Field

from shared.runtime.consumer import BatchConsumer
from shared.runtime.relay import Relay
from shared.runtime.service import Runtime
from shared.runtime.settings import CommonSettings
from shared.runtime.store import store_env

from .application import NotifierApplication
from .keys import load_or_create_signing_key
from .messaging import BOOKINGS, batch_handler, register_queries, to_wire


class NotifierSettings(CommonSettings):
    """Notifier settings (PASPOR_NOTIFIER_*)."""

    notifier_keys_dir: Path | None = Field(
        default=None, description="Folder of the ticket signing key; default: <data_dir>/keys."
    )

    def keys_dir(self) -> Path:
        return self.notifier_keys_dir or self.data_dir / "keys"


def build_application(settings: NotifierSettings) -> NotifierApplication:
    key = load_or_create_signing_key(settings.keys_dir())
    return NotifierApplication(key, env=store_env(settings, "notifier"))


async def run(settings: NotifierSettings | None = None) -> None:
    """Run the notifier until stopped."""
    settings = settings or NotifierSettings()
    runtime = Runtime("notifier", settings)
    app = build_application(settings)
    js = await runtime.start()
    relay = Relay("notifier", app, js, functools.partial(to_wire, partitions=settings.partitions), runtime.writer)
    consumer = BatchConsumer(js, BOOKINGS, batch_handler(app, runtime.writer, relay.wake), "notifier")
    runtime.spawn(consumer.run(), "bookings")
    runtime.spawn(relay.run(), "relay")
    register_queries(runtime.broker, app, runtime.writer)
    runtime.on_stop.append(app.close)
    await runtime.serve()


def main() -> None:
    asyncio.run(run())
