"""The envelope every message on the wire carries."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import ClassVar, Unpack

from pydantic import BaseModel, ConfigDict, Field

from shared.clock import now as utcnow  # the process's clock, never the wall clock directly

MESSAGE_NAMESPACE = uuid.UUID("5b1c9c1e-7d0a-4d8e-9d58-1a2f3c4d5e6f")


def derived_id(*parts: object) -> uuid.UUID:
    """A deterministic id from its key, so that the same thing always gets the same id."""
    return uuid.uuid5(MESSAGE_NAMESPACE, ":".join(str(part) for part in parts))


class Message(BaseModel):
    """Base of every command and event: id, type, schema version, time, correlation."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    message_type: ClassVar[str] = "Message"

    message_id: uuid.UUID = Field(
        default_factory=uuid.uuid4,
        description="Unique id of this message; also the JetStream Nats-Msg-Id of events.",
    )
    type: str = Field(default="", description="The message type, e.g. BookingConfirmed.")
    schema_version: int = Field(default=1, ge=1, description="Version of this message's schema.")
    occurred_at: datetime = Field(default_factory=utcnow, description="When it happened, in UTC (ISO 8601).")
    correlation_id: uuid.UUID = Field(
        default_factory=uuid.uuid4,
        description="Id shared by every message of one user action (e.g. one booking).",
    )
    causation_id: uuid.UUID | None = Field(default=None, description="Id of the message that caused this one, if any.")

    def __init_subclass__(cls, **kwargs: Unpack[ConfigDict]) -> None:
        super().__init_subclass__(**kwargs)
        cls.message_type = cls.__name__

    def model_post_init(self, context: object) -> None:
        if not self.type:
            object.__setattr__(self, "type", self.message_type)
        elif self.type != self.message_type:
            raise ValueError(f"type must be {self.message_type!r}, got {self.type!r}")

    def caused(self) -> dict[str, uuid.UUID]:
        """Correlation fields for a message caused by this one."""
        return {"correlation_id": self.correlation_id, "causation_id": self.message_id}
