"""Operators: set a session's capacity, close a day or a session (sent to the office's quota worker)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Path
from pydantic import BaseModel, ConfigDict, Field

from shared.events import ChangeCapacity, CloseSessions, Commands, Session

from .deps import Gateway, GatewayDep, Operator
from .routes_offices import known_office

router = APIRouter(prefix="/v1/operator", tags=["operators"])
OfficeCode = Annotated[str, Path(max_length=16, description="Office code.", examples=["BOGOR"])]


class CapacityBody(BaseModel):
    """A session's (or both sessions') new capacity on a date."""

    model_config = ConfigDict(extra="forbid")
    date: dt.date = Field(description="The date.", examples=["2026-12-14"])
    session: Session | None = Field(default=None, description="One session, or none for both.")
    capacity: int = Field(ge=0, le=10000, description="Registrants per session.", examples=[120])


class ClosureBody(BaseModel):
    """Closing a date (or one session): booked citizens are told, their slots withdrawn."""

    model_config = ConfigDict(extra="forbid")
    date: dt.date = Field(description="The date.", examples=["2026-12-14"])
    session: Session | None = Field(default=None, description="One session, or none for the whole day.")
    reason: str = Field(
        min_length=3,
        max_length=300,
        description="Why, shown to the citizens affected.",
        examples=["Power outage at the office / Listrik padam di kantor"],
    )


class SessionState(BaseModel):
    """A session after the operator's change."""

    date: dt.date = Field(description="The date.")
    session: Session = Field(description="The session.")
    capacity: int = Field(description="Registrants it takes.")
    booked: int = Field(description="Registrants booked.")
    remaining: int = Field(description="Places left.")
    closed: bool = Field(description="Closed by an operator.")


class Sessions(BaseModel):
    """The sessions changed."""

    sessions: list[SessionState] = Field(description="Each session changed.")


@router.put("/offices/{code}/capacity", summary="Set the capacity of a date's session(s)")
async def set_capacity(code: OfficeCode, body: CapacityBody, gw: GatewayDep, who: Operator) -> Sessions:
    known_office(code)
    command = ChangeCapacity(office=code, operator=who.account, **body.model_dump())
    return Sessions(**await ask_owner(gw, Commands.CHANGE_CAPACITY, code, command))


@router.post("/offices/{code}/closures", summary="Close a date or one session (e.g. an unplanned closure)")
async def close(code: OfficeCode, body: ClosureBody, gw: GatewayDep, who: Operator) -> Sessions:
    known_office(code)
    command = CloseSessions(office=code, operator=who.account, **body.model_dump())
    return Sessions(**await ask_owner(gw, Commands.CLOSE_SESSIONS, code, command))


async def ask_owner(gw: Gateway, template: str, office: str, command: BaseModel) -> dict:
    """Operator commands go to the one quota worker that owns the office's partition."""
    return await gw.ask(Commands.for_office(template, office, gw.partitions), command)
