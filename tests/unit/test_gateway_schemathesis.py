"""Schemathesis against the generated OpenAPI document: no server error, no answer that breaks the schema.

The gateway runs in process on fake services (tests/unit/gateway_fakes.py); every operation gets
generated requests, half of them signed in as a citizen with a device.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
import schemathesis
from gateway_fakes import bearer, gateway_app
from hypothesis import HealthCheck, settings
from schemathesis.checks import content_type_conformance, not_a_server_error, response_schema_conformance

from services.gateway.availability import AvailabilityView

API, GATEWAY, DEV = gateway_app(Path(tempfile.mkdtemp(prefix="gateway-schemathesis-")), availability=AvailabilityView())
schema = schemathesis.openapi.from_asgi("/openapi.json", API)
pytestmark = pytest.mark.dateless  # generated requests, judged by their schema alone: slow, and no date rule in it
CHECKS = [not_a_server_error, response_schema_conformance, content_type_conformance]


@schema.parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
def test_every_operation_answers_within_its_schema(case):
    signed_in = hash(repr(case.body)) % 2 == 0 or case.method != "GET"
    headers = {**(case.headers or {})}
    if signed_in and "authorization" not in {h.lower() for h in headers}:
        headers |= bearer(DEV)
    case.call_and_validate(headers=headers, checks=CHECKS)
