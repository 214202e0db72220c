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
from services.gateway.dpop import ProofChecker
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
        self.devices: dict[str, str] = {}  # account -> the device it is bound to (its first booking's)
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
            Commands.MOVE_DEVICE: self.move,
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
        self.devices.setdefault(self.account(command.caller), command.caller.device_id)
        self.bookings.setdefault(booking_id, (self.account(command.caller), view))
        return {"booking": self.bookings[booking_id][1]}

    def move(self, command: Any) -> dict:
        account = self.account(command.caller)
        previous = self.devices.get(account)
        self.devices[account] = command.caller.device_id
        return {"device": {"device_id": command.caller.device_id, "previous_device_id": previous}}

    def decide(self, booking_id: str, status: str, reason: str | None = None) -> None:
        """The pipeline's outcome arrives: the booking changes and the gateway hears of it."""
        account, view = self.bookings[booking_id]
        self.bookings[booking_id] = (account, view | {"status": status, "reason": reason})
        self.outcomes.arrived({"booking_id": booking_id, "status": status})
        self.changes.changed(booking_id)

    def get(self, query: Any) -> dict:
        account, view = self.bookings.get(str(query.booking_id), (None, None))
        if not view or account != query.account:
            return problem("booking_not_found", "no such booking")
        if self.devices.get(account) != query.device_id:  # a citizen reads only from their bound device
            return problem("account_bound_to_other_device", "this account is bound to another device")
        return {"booking": view}

    def cancel(self, command: Any) -> dict:
        mine = {"booking_id": command.booking_id, "account": self.account(command.caller)}
        found = self.get(type("Q", (), mine | {"device_id": command.caller.device_id}))
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
    device_proof: str = "dpop",
) -> tuple[Any, Gateway, DevIssuer]:
    """The real gateway app on fake services, with the development issuer for tokens.

    Devices prove their keys (a client signs with `support.signing`), unless `device_proof="header"`.
    """
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
        proofs=ProofChecker() if device_proof == "dpop" else None,
    )
    return build_api(gw), gw, dev


def bearer(
    dev: DevIssuer, subject: str = "siti@example.com", device: str | None = "device-siti-0001", **claims: Any
) -> dict:
    """A token's headers, on the device called `device` (its key's thumbprint: a signing client proves it)."""
    from support import device_key

    headers = {"Authorization": f"Bearer {dev.issue(subject, **claims)}"}
    return headers | ({"X-Device-Id": device_key(device).thumbprint} if device else {})


def client_for(api: Any) -> Any:
    """A client of the app in process that signs the device proofs of the devices tests made."""
    import httpx
    from support import signing

    return signing(httpx.AsyncClient(transport=httpx.ASGITransport(api), base_url="http://gateway"))


def next_office_day(start_in: int = 3) -> dt.date:
    from support import bookable_day

    return bookable_day(start_in)
