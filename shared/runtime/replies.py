"""Request/reply handlers that answer bad input with a problem instead of silence."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

from pydantic import BaseModel, ValidationError

from shared.events import Problem

log = logging.getLogger(__name__)
Query = TypeVar("Query", bound=BaseModel)


def invalid(error: ValidationError) -> Problem:
    """A problem that lists what is wrong with a message."""
    details = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in error.errors()[:5])
    return Problem(
        code="invalid_message",
        message_id=f"Pesan tidak valid: {details}",
        message_en=f"Invalid message: {details}",
    )


def replying(model: type[Query], handler: Callable[[Query], Awaitable[dict]]) -> Callable[[bytes], Awaitable[dict]]:
    """Wrap a handler so that it validates the raw body and answers bad input with a problem."""

    async def handle(body: bytes) -> dict:
        try:
            query = model.model_validate_json(body)
        except ValidationError as error:
            log.warning("refused an invalid %s: %s", model.__name__, error.errors()[:3])
            return {"problem": invalid(error).model_dump(mode="json")}
        return await handler(query)

    return handle
