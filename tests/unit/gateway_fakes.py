"""A fake of the services behind the gateway, with the bus's `ask` interface (no NATS, no patching)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from services.gateway.app import build_api
from services.gateway.auth import DevIssuer, TokenVerifier, dev_trust
from services.gateway.availability import AvailabilityView
from services.gateway.deps import Gateway
from services.gateway.messaging import Changes, Outcomes
from services.gateway.ratelimit import Limits
from shared.events import BookingView, Commands, derived_id


def problem(code: str, text: str) -> dict:
    return {"problem": {"code": code, "message_en": text, "message_id": text}}


class FakeServices:
    """Answers commands as the services would, from memory; records every subject it was asked on."""

    def __init__(self) -> None:
        self.outcomes, self.changes, self.ready = Outcomes(), Changes(), True
        self.asked: list[str] = []
        self.bookings: dict[str, tuple[str, dict]] = {}  # booking id -> (account, view)
        self.decide_at_once = True  # False: bookings stay `requested` until `decide` is called
        self.handlers = {
            Commands.REQUEST_BOOKING: self.request,
            Commands.GET_BOOKING: self.get,
            Commands.CANCEL_BOOKING: self.cancel,
            Commands.LIST_BOOKINGS: self.list,
            Commands.GET_PROFILE: lambda m: {"profile": None},
            Commands.GET_TERMS: lambda m: {"terms": {"current_version": "1", "accepted": False}},
            Commands.ACCEPT_TERMS: lambda m: {"terms": {"current_version": "1", "accepted": True}},
            Commands.GET_REGISTRATIONS: lambda m: {"registrations": {"used": 0, "limit": 5, "left": 5}},
            Commands.GET_TICKET: lambda m: problem("ticket_not_issued", "not yet"),
        }

    async def ask(self, subject: str, message: BaseModel) -> dict[str, Any]:
        self.asked.append(subject)
        if subject.startswith("paspor.cmd.quota.p"):
            return {"sessions": []}
        handler = self.handlers.get(subject)
        return handler(message) if handler else problem("invalid_message", f"no fake for {subject}")

    @staticmethod
    def account(caller: Any) -> str:
        return f"{caller.provider}:{caller.subject}"

    def request(self, command: Any) -> dict:
        booking_id = str(derived_id("booking", self.account(command.caller), command.idempotency_key))
        status, number = ("confirmed", len(self.bookings) + 1) if self.decide_at_once else ("requested", None)
        view = BookingView(
            booking_id=booking_id,
            slot=command.slot,
            status=status,
            applicants=len(command.applicants),
            queue_number=number,
        ).model_dump(mode="json")
        self.bookings.setdefault(booking_id, (self.account(command.caller), view))
        return {"booking": self.bookings[booking_id][1]}

    def decide(self, booking_id: str, status: str, reason: str | None = None) -> None:
        """The pipeline's outcome arrives: the booking changes and the gateway hears of it."""
        account, view = self.bookings[booking_id]
        self.bookings[booking_id] = (account, view | {"status": status, "reason": reason})
        self.outcomes.arrived({"booking_id": booking_id, "status": status})
        self.changes.changed(booking_id)

    def get(self, query: Any) -> dict:
        account, view = self.bookings.get(str(query.booking_id), (None, None))
        return (
            {"booking": view} if view and account == query.account else problem("booking_not_found", "no such booking")
        )

    def cancel(self, command: Any) -> dict:
        found = self.get(type("Q", (), {"booking_id": command.booking_id, "account": self.account(command.caller)}))
        if "problem" in found:
            return found
        view = found["booking"] | {"status": "cancelled"}
        self.bookings[str(command.booking_id)] = (self.account(command.caller), view)
        return {"booking": view}

    def list(self, query: Any) -> dict:
        """A page, newest first, as the booking service answers (the cursor: where the next page starts)."""
        mine = [v for a, v in reversed(self.bookings.values()) if a == self.account(query.caller)]
        start = len(mine) - query.cursor + 1 if query.cursor else 0
        page = mine[start : start + query.limit]
        after = len(mine) - start - len(page) + 1 if start + len(page) < len(mine) else None
        return {"bookings": page, "next_cursor": after}


def gateway_app(
    keys: Path,
    services: FakeServices | None = None,
    limits: Limits | None = None,
    availability: AvailabilityView | None = None,
) -> tuple[Any, Gateway, DevIssuer]:
    """The real gateway app on fake services, with the development issuer for tokens."""
    dev = DevIssuer(keys)
    view = availability or AvailabilityView()
    view.loaded.set()
    gw = Gateway(
        services or FakeServices(),
        TokenVerifier([dev_trust(dev)]),
        dev,
        0.05,
        view,
        limits or Limits.per_second(10_000, 10_000, 10_000),
    )
    return build_api(gw), gw, dev


def bearer(
    dev: DevIssuer, subject: str = "siti@example.com", device: str | None = "device-siti-0001", **claims: Any
) -> dict:
    headers = {"Authorization": f"Bearer {dev.issue(subject, **claims)}"}
    return headers | ({"X-Device-Id": device} if device else {})


def next_office_day(start_in: int = 3) -> dt.date:
    from support import bookable_day

    return bookable_day(start_in)
