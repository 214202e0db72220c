"""How long NATS keeps what it carries is a setting: the streams' max age and the idempotency keys' TTL
are what `PASPOR_STREAM_MAX_AGE_DAYS` and `PASPOR_IDEMPOTENCY_TTL_SECONDS` say, on a new server and when
a running system is started again with other values (the event stores keep everything either way)."""

from __future__ import annotations

import nats
import pytest

from paspor.natsserver import NatsServer
from shared.events import IDEMPOTENCY_BUCKET, STREAMS
from shared.runtime.bus import ensure_streams
from shared.runtime.settings import CommonSettings

DAY = 86_400


async def kept(js, stream: str) -> float:  # noqa: ANN001 - nats-py's JetStreamContext
    return (await js.stream_info(stream)).config.max_age


async def test_the_streams_and_the_idempotency_bucket_keep_what_the_settings_say_and_follow_a_change(
    nats_server: NatsServer, monkeypatch: pytest.MonkeyPatch
):
    nc = await nats.connect(nats_server.url)
    js = nc.jetstream()
    try:
        await ensure_streams(js, 1, CommonSettings().retention)  # the defaults: 400 days, a day
        for spec in STREAMS:
            assert await kept(js, spec.name) == pytest.approx(400 * DAY)
        assert await kept(js, f"KV_{IDEMPOTENCY_BUCKET}") == pytest.approx(DAY)

        monkeypatch.setenv("PASPOR_STREAM_MAX_AGE_DAYS", "0.25")
        monkeypatch.setenv("PASPOR_IDEMPOTENCY_TTL_SECONDS", "600")
        await ensure_streams(js, 1, CommonSettings().retention)  # the system started again with other values
        for spec in STREAMS:
            assert await kept(js, spec.name) == pytest.approx(DAY / 4)
        assert await kept(js, f"KV_{IDEMPOTENCY_BUCKET}") == pytest.approx(600)
        assert (await js.stream_info(STREAMS[0].name)).config.duplicate_window == pytest.approx(120)
    finally:
        await nc.close()
