"""The dead letters in JetStream (`paspor.deadletter.<service>`): read them, replay one, or discard one.

A replay publishes the original message again on its original subject, under a new message id (the
old one may still be within JetStream's duplicate window). The consumer that gave up on it then
handles it as any other message, idempotently: a booking request decided since is not decided
twice. A relay's dead letter is a stored event that could not be published: it cannot be sent
again from here, because the store holds it, not the stream (see docs/operations.md).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from nats.aio.client import Client
from nats.js.errors import NotFoundError
from pydantic import ValidationError

from shared.events import DeadLetter

STREAM = "PASPOR_DEADLETTER"


class NoSuchDeadLetter(LookupError):
    """No dead letter with that sequence (never was, or replayed or discarded since)."""


class NotReplayable(ValueError):
    """A dead letter that cannot be sent again as it is (a relay's, or one without its original message)."""


@dataclass(frozen=True)
class Parked:
    """A dead letter and where it sits in the stream."""

    sequence: int
    at: dt.datetime | None
    letter: DeadLetter


async def parked(nc: Client, service: str | None = None, limit: int = 1000) -> list[Parked]:
    """The dead letters in the stream, oldest first (of one service, when named)."""
    js = nc.jetstream()
    try:
        state = (await js.stream_info(STREAM)).state
    except NotFoundError:
        return []
    found: list[Parked] = []
    if not state.messages:
        return found
    sequence = max(state.first_seq, 1)
    while sequence <= state.last_seq and len(found) < limit:
        try:
            found.append(await one(nc, sequence))
        except NoSuchDeadLetter:
            pass  # deleted (replayed or discarded)
        sequence += 1
    return [p for p in found if service is None or p.letter.service == service]


async def one(nc: Client, sequence: int) -> Parked:
    """The dead letter at this sequence."""
    try:
        raw = await nc.jetstream().get_msg(STREAM, sequence)
    except NotFoundError:
        raise NoSuchDeadLetter(f"no dead letter #{sequence} (replayed, discarded, or never there)") from None
    try:
        letter = DeadLetter.model_validate_json(raw.data or b"")
    except ValidationError:  # parked before dead letters had one shape: shown as far as it can be
        letter = DeadLetter(service="?", source="?", subject=raw.subject or "", reason="(unreadable record)")
    return Parked(sequence, None, letter)


async def replay(nc: Client, sequence: int) -> Parked:
    """Send the original message again on its subject, then remove the dead letter."""
    found = await one(nc, sequence)
    letter = found.letter
    if not letter.source.startswith("consumer:") or not letter.data or not letter.subject:
        raise NotReplayable(
            f"dead letter #{sequence} is from {letter.source}: a stored event the relay could not publish; "
            "fix its cause and see docs/operations.md (dead letters)"
        )
    headers = {k: v for k, v in letter.headers.items() if k != "Nats-Msg-Id"}
    headers["Nats-Msg-Id"] = f"replay:{sequence}:{letter.headers.get('Nats-Msg-Id', '')}"
    await nc.jetstream().publish(letter.subject, letter.data.encode(), headers=headers)
    await nc.jetstream().delete_msg(STREAM, sequence)
    return found


async def discard(nc: Client, sequence: int) -> Parked:
    """Remove a dead letter without sending it again."""
    found = await one(nc, sequence)
    await nc.jetstream().delete_msg(STREAM, sequence)
    return found
