"""Request/reply on the bus, one way for every service: bad input is answered with a problem, never silence."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from faststream.nats import NatsBroker
from nats.aio.msg import Msg
from opentelemetry.trace import SpanKind
from pydantic import BaseModel, ValidationError

from shared.events import Problem

from . import hops

log = logging.getLogger(__name__)
Query = TypeVar("Query", bound=BaseModel)
Handler = Callable[[Query], Awaitable[dict[str, Any]]]


def invalid(error: ValidationError) -> Problem:
    """A problem that lists what is wrong with a message."""
    details = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in error.errors()[:5])
    return Problem(
        code="invalid_message",
        message_id=f"Pesan tidak valid: {details}",
        message_en=f"Invalid message: {details}",
    )


def problem(code: str, message_id: str, message_en: str, **extra: Any) -> dict[str, Any]:
    """A refusal as a reply: a stable code and the message in Indonesian and English."""
    return {
        "problem": Problem(code=code, message_id=message_id, message_en=message_en, **extra).model_dump(mode="json")
    }


def replying(model: type[Query], handler: Handler[Query]) -> Callable[[Any], Awaitable[dict[str, Any]]]:
    """Wrap a handler so that it validates the body (raw, or as faststream decoded it) and answers bad input
    with a problem."""

    async def handle(body: Any) -> dict[str, Any]:
        try:
            if isinstance(body, bytes | str):
                query = model.model_validate_json(body)
            else:  # JSON that faststream parsed already (a message sent without a content type)
                query = model.model_validate(body)
        except ValidationError as error:
            log.warning("refused an invalid %s: %s", model.__name__, error.errors()[:3])
            return {"problem": invalid(error).model_dump(mode="json")}
        return await handler(query)

    return handle


def serve(
    broker: NatsBroker,
    subject: str,
    model: type[Query],
    handler: Handler[Query],
    *,
    queue: str,
    max_workers: int = 1,
    hop: str | None = None,
) -> None:
    """Answer requests on `subject` (one of `queue`'s members answers each) with `handler`'s reply.

    A request that carries a sampled trace context is answered inside a span named `hop` (by default
    `<queue> <command>`), child of the caller's.
    """
    handle = replying(model, handler)
    name = hop or f"{queue} {subject.removeprefix('paspor.cmd.')}"

    # The body, not the message: faststream resolves a `NatsMessage` parameter from its context with a
    # synchronous call, which it runs in a worker thread, a thread hop per message. The trace context
    # is taken from the headers by the parser, which runs in the handler's task.
    @broker.subscriber(
        subject, queue=queue, max_workers=max_workers, title=subject.removeprefix("paspor.cmd."), parser=with_trace
    )
    async def answer(body: Any) -> dict[str, Any]:
        parent = hops.received()
        if parent is None:
            return await handle(body)
        span = hops.start(name, parent, kind=SpanKind.SERVER)
        token = hops.as_current(span)
        try:
            return await handle(body)
        finally:
            hops.detach(token)
            if span is not None:
                span.end()


async def with_trace(msg: Msg, original: Callable[[Msg], Awaitable[Any]]) -> Any:
    """faststream's parser, noting the message's traceparent (if any) for the handler."""
    hops.incoming(msg.headers.get(hops.TRACEPARENT) if msg.headers else None)
    return await original(msg)
