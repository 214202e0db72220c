"""What a service could not handle or publish, parked on `paspor.deadletter.<service>` with why and where from."""

from __future__ import annotations

from pydantic import Field

from .envelope import Message


class DeadLetter(Message):
    """A message a consumer gave up on, or a stored event the relay cannot publish; `paspor deadletter` acts on it."""

    service: str = Field(description="The service that parked it.")
    source: str = Field(description="consumer:<durable> or relay:<store>.")
    subject: str = Field(description="Where the message came from (consumer) or was going (relay).")
    reason: str = Field(description="Why it was parked: the error, as the service saw it.")
    attempts: int = Field(default=1, ge=1, description="How many times handling it was tried.")
    headers: dict[str, str] = Field(default_factory=dict, description="The original message's NATS headers.")
    data: str = Field(default="", description="The original message (UTF-8), when there is one.")
    stream_sequence: int | None = Field(default=None, description="Its sequence in the stream it came from.")
    position: int | None = Field(default=None, description="The stored event's notification id (relay).")
    topic: str | None = Field(default=None, description="The stored event's topic (relay).")
    aggregate_id: str | None = Field(default=None, description="The stored event's aggregate (relay).")
    booking_ids: list[str] = Field(default_factory=list, description="Bookings it concerns, when known.")
