"""Settings every service shares (environment variables prefixed ``PASPOR_``)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.clock import Clock, clock_from
from shared.events import DEFAULT_PARTITIONS, DUPLICATE_WINDOW_SECONDS, IDEMPOTENCY_TTL_SECONDS, STREAM_MAX_AGE_DAYS
from shared.pseudonyms import Pseudonyms

from .bus import Retention
from .natsauth import NatsLogin


class CommonSettings(BaseSettings, NatsLogin):
    """Where NATS and the event stores are, and how to log in to NATS; defaults run the embedded mode."""

    # hide_input_in_errors: a mistyped secret (an nkey seed, a cipher key) is never echoed in an error.
    model_config = SettingsConfigDict(env_prefix="PASPOR_", extra="ignore", hide_input_in_errors=True)

    nats_url: str = Field(default="nats://127.0.0.1:4222", description="NATS server URL(s), comma separated.")
    data_dir: Path = Field(default=Path("paspor-data"), description="Folder for SQLite stores and keys.")
    event_store: Literal["sqlite", "postgres", "memory"] = Field(default="sqlite", description="Event store backend.")
    postgres_url: str = Field(default="postgresql://postgres@127.0.0.1:5432/paspor", description="PostgreSQL URL.")
    postgres_pool_size: int = Field(default=5, ge=1, le=100, description="Connections per process.")
    partitions: int = Field(default=DEFAULT_PARTITIONS, ge=1, le=256, description="Office partitions.")
    stream_replicas: int = Field(default=1, ge=1, le=5, description="JetStream stream replicas.")
    stream_max_age_days: float = Field(
        default=STREAM_MAX_AGE_DAYS,
        le=3650,
        description="Days the JetStream streams keep a message (fractions allowed: 0.01 is 14.4 minutes). The event "
        "stores keep every event; `paspor audit --jetstream` compares what the streams still hold.",
    )
    idempotency_ttl_seconds: int = Field(
        default=IDEMPOTENCY_TTL_SECONDS,
        ge=60,
        le=30 * 86_400,
        description="Seconds every gateway replica answers a retried booking Idempotency-Key as the first time "
        "(the shared bucket's TTL); a key retried later is a new request.",
    )
    cipher_key: str | None = Field(
        default=None, description="AES key (base64) for personal data at rest; generated in the data folder if unset."
    )
    identity_key: str | None = Field(
        default=None,
        description="HMAC key (base64, 32+ bytes) for ids derived from personal data (NIK claims); generated in "
        "the data folder if unset. Change it only with `paspor keys rotate-identity`.",
    )

    relay_idle_wait: float = Field(
        default=1.0, gt=0, le=60, description="Seconds an idle outbox relay waits before looking at its log again."
    )
    relay_ack_timeout: float = Field(
        default=15.0, gt=0, le=300, description="Seconds the relay waits for JetStream to acknowledge a batch."
    )
    consumer_linger: float = Field(
        default=0.02, gt=0, le=5, description="Seconds a consumer's fetch waits to fill a batch."
    )
    consumer_max_items: int = Field(
        default=2000,
        ge=1,
        le=100_000,
        description="Most events a consumer hands over in one save (a SlotsDecided message counts one per decision).",
    )
    consumer_max_bytes: int = Field(
        default=1_000_000,
        ge=1_000,
        le=64_000_000,
        description="Most bytes of messages a consumer hands over in one save (a message larger than this goes alone).",
    )
    consumer_backoff: str = Field(
        default="0.2,1,3,10,30",
        description="Seconds between a failed batch's attempts, comma separated; after the last, message by message.",
    )
    clock_start: dt.datetime | None = Field(
        default=None,
        description="Pretend the service started at this instant (ISO 8601 with its offset) and let time run "
        "from there: rehearsals and tests of a whole system on a pinned day. Unset: the real time.",
    )

    trace_exporter: Literal["file", "otlp", "none"] = Field(
        default="file",
        description="Where spans go: file (JSON lines per process in <data folder>/traces, read by `paspor trace`), "
        "otlp (OTEL_EXPORTER_OTLP_ENDPOINT: Jaeger, Tempo, a Collector) or none.",
    )
    trace_sample: float = Field(
        default=0.01,
        ge=0,
        le=1,
        description="Share of bookings traced, decided once at the gateway and carried to every hop (0: none).",
    )
    trace_file_mb: int = Field(
        default=200, ge=1, le=100_000, description="Largest trace file a process writes (MB); later spans are dropped."
    )
    log_format: Literal["text", "json"] = Field(
        default="text", description="Log lines as text or as JSON objects; both carry the trace id."
    )

    clock_started: float | None = Field(
        default=None,
        description="When (Unix seconds) the clock read PASPOR_CLOCK_START, so that processes started later "
        "agree on the time; unset: when the service starts.",
    )

    @field_validator("consumer_backoff")
    @classmethod
    def _backoff_seconds(cls, value: str) -> str:
        try:
            delays = [float(part) for part in value.split(",")]
        except ValueError:
            raise ValueError(f"must be seconds separated by commas, e.g. 0.2,1,3 (got {value!r})") from None
        if not delays or any(not 0 <= d <= 3600 for d in delays):
            raise ValueError("each delay must be between 0 and 3600 seconds")
        return value

    @property
    def backoff(self) -> tuple[float, ...]:
        return tuple(float(part) for part in self.consumer_backoff.split(","))

    @field_validator("stream_max_age_days")
    @classmethod
    def _streams_outlive_their_duplicate_window(cls, value: float) -> float:
        if value * 86_400 < DUPLICATE_WINDOW_SECONDS:
            least = DUPLICATE_WINDOW_SECONDS / 86_400
            raise ValueError(
                f"must keep a message at least the streams' {DUPLICATE_WINDOW_SECONDS} s duplicate window "
                f"({least:.4f} days); got {value}"
            )
        return value

    @field_validator("clock_start")
    @classmethod
    def _clock_start_has_offset(cls, value: dt.datetime | None) -> dt.datetime | None:
        if value is not None and value.utcoffset() is None:
            raise ValueError("needs its UTC offset, e.g. 2027-01-13T09:00:00+07:00")
        return value

    @field_validator("identity_key")
    @classmethod
    def _identity_key_usable(cls, value: str | None) -> str | None:
        if value is not None:
            Pseudonyms.from_text(value)  # InvalidIdentityKey is a ValueError: a clear settings error
        return value

    def clock(self) -> Clock:
        """The service's clock: the real time, or one running from `clock_start`."""
        return clock_from(self.clock_start, self.clock_started)

    @field_validator("nats_url")
    @classmethod
    def _nats_scheme(cls, value: str) -> str:
        for url in value.split(","):
            if not url.strip().startswith(("nats://", "tls://", "ws://", "wss://")):
                raise ValueError(f"NATS URL must start with nats:// (got {url!r})")
        return value

    @property
    def retention(self) -> Retention:
        return Retention(self.stream_max_age_days, self.idempotency_ttl_seconds)

    @property
    def nats_servers(self) -> list[str]:
        return [url.strip() for url in self.nats_url.split(",")]
