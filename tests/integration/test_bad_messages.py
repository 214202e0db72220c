"""A malformed message on any command subject is answered with a clear problem, and changes nothing."""

from __future__ import annotations

import json

import nats
import pytest

from paspor.embedded import EmbeddedSystem
from shared.events import Commands

SUBJECTS = {  # each sent by the NATS user allowed to send it
    Commands.REQUEST_BOOKING: "gateway",
    Commands.GET_BOOKING: "gateway",
    Commands.DECIDE_BOOKING.format(partition=0): "booking",
    Commands.GET_CALENDAR: "gateway",
    Commands.GET_TICKET: "gateway",
}
GARBAGE = [b"not json at all", b"[1, 2, 3]", b'{"caller": 1}', b"\xff\xfe"]


@pytest.mark.parametrize("subject", SUBJECTS)
async def test_garbage_on_a_command_subject_is_answered_invalid_message(system: EmbeddedSystem, subject: str):
    nc = await nats.connect(system.nats.url, **system.login(SUBJECTS[subject]).connect_options())
    try:
        for payload in GARBAGE:
            reply = json.loads((await nc.request(subject, payload, timeout=5)).data)
            assert reply["problem"]["code"] == "invalid_message", (subject, payload, reply)
            assert reply["problem"]["message_en"] and reply["problem"]["message_id"]
    finally:
        await nc.close()
