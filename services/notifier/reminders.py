"""Reminders the day before an appointment, through a pluggable sink; never on the booking path.

A reminder names the booking and its schedule, never a person: whoever receives it (an SMS or
e-mail gateway behind the webhook) looks up the contact by booking id.
"""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import httpx

from .schedule import Schedule

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Reminder:
    """One reminder of one appointment."""

    schedule: Schedule

    def as_json(self) -> dict:
        s = self.schedule
        return {
            "type": "AppointmentReminder",
            "booking_id": str(s.booking_id),
            "office": s.office_code,
            "office_name": s.office_name,
            "session": s.session,
            "starts_at": s.starts.isoformat(),
            "ends_at": s.ends.isoformat(),
            "queue_number": s.queue_number,
            "applicants": s.applicants,
            "text": " | ".join(s.lines()),
        }


class Notice(Protocol):
    """What a sink sends: a reminder, or a waitlist offer (`offers.py`)."""

    def as_json(self) -> dict: ...


class SinkFailed(Exception):
    """A sink could not deliver a reminder (it will be tried again on the next round)."""


class Sink(Protocol):
    """Where reminders go."""

    async def send(self, reminder: Notice) -> None: ...


class LogSink:
    """Writes each reminder to the service log."""

    async def send(self, reminder: Notice) -> None:
        log.info("reminder: %s", json.dumps(reminder.as_json()))


class FileSink:
    """Appends each reminder as one JSON line to a file."""

    def __init__(self, path: Path) -> None:
        self.path = path

    async def send(self, reminder: Notice) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as file:
            file.write(json.dumps(reminder.as_json()) + "\n")


class WebhookSink:
    """POSTs each reminder as JSON to a URL, retrying with a growing delay."""

    def __init__(
        self,
        url: str,
        attempts: int = 4,
        backoff: float = 0.5,
        timeout: float = 5.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.url, self.attempts, self.backoff = url, attempts, backoff
        self.client = httpx.AsyncClient(timeout=timeout, transport=transport)

    async def send(self, reminder: Notice) -> None:
        body = reminder.as_json()
        key = getattr(reminder, "idempotency_key", None) or f"reminder-{body['booking_id']}"  # an offer has its own
        headers = {"Idempotency-Key": key}
        for attempt in range(1, self.attempts + 1):
            try:
                response = await self.client.post(self.url, json=body, headers=headers)
                if response.status_code < 500 and response.status_code != 429:
                    response.raise_for_status()  # a 4xx other than 429 will not get better
                    return
                problem = f"HTTP {response.status_code}"
            except httpx.TransportError as error:
                problem = repr(error)
            except httpx.HTTPStatusError as error:
                raise SinkFailed(f"webhook refused the reminder: {error}") from None
            if attempt < self.attempts:
                await asyncio.sleep(self.backoff * 2 ** (attempt - 1))
        raise SinkFailed(f"webhook unreachable after {self.attempts} attempts: {problem}")


def make_sink(spec: str) -> Sink:
    """A sink from configuration: ``log``, ``file:<path>`` or a webhook ``http(s)://...`` URL."""
    if spec == "log":
        return LogSink()
    if spec.startswith("file:"):
        return FileSink(Path(spec[5:]))
    if spec.startswith(("http://", "https://")):
        return WebhookSink(spec)
    raise ValueError(f"unknown reminder sink {spec!r}: use log, file:<path> or an http(s):// URL")
