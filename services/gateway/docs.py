"""The OpenAPI document: every operation gets its examples and the problem answer."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from .examples import ANSWERS, PROBLEM, REQUESTS
from .problems import Problem

DESCRIPTION = """Passport appointment booking API (Antrian Paspor).

* Sign in with a bearer token (JWT) from a trusted identity provider; citizen calls also send `X-Device-Id`.
* Every refusal is an RFC 9457 problem (`application/problem+json`) with a stable `code`, the message in
  English (`detail`) and Indonesian (`detail_id`); 429 answers carry `Retry-After`.
* The event contract between the services: [AsyncAPI document](/asyncapi.json).
"""


def openapi_with_examples(api: FastAPI) -> dict[str, Any]:
    if api.openapi_schema is None:
        schema = get_openapi(title=api.title, version=api.version, description=DESCRIPTION, routes=api.routes)
        schema["components"]["schemas"]["Problem"] = Problem.model_json_schema(
            ref_template="#/components/schemas/{model}"
        )
        for path, operations in schema["paths"].items():
            for method, operation in operations.items():
                _decorate(f"{method.upper()} {path}", operation)
        api.openapi_schema = schema
    return api.openapi_schema


def _decorate(key: str, operation: dict[str, Any]) -> None:
    responses = operation["responses"]
    success = next((code for code in ("200", "201") if code in responses), None)
    if success and key in ANSWERS:
        for media in responses[success].setdefault("content", {"application/json": {}}).values():
            media.setdefault("example", ANSWERS[key])
    if key in REQUESTS:
        operation["requestBody"]["content"]["application/json"]["example"] = REQUESTS[key]
    responses.pop("422", None)  # validation errors are problems too (below)
    responses["default"] = {
        "description": "A refusal: RFC 9457 problem details with a stable code.",
        "content": {
            "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}, "example": PROBLEM}
        },
    }
