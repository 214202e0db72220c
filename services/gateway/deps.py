"""What every route needs: the gateway's wiring, the verified caller, the device, and `ask`."""

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Header, Request
from pydantic import BaseModel

from .auth import DevIssuer, Identity, TokenVerifier, Unauthenticated
from .messaging import Bus, ServiceUnavailable
from .problems import ProblemError


@dataclass
class Gateway:
    """The gateway's wiring, kept on `app.state.gateway`."""

    bus: Bus
    verifier: TokenVerifier
    dev_issuer: DevIssuer | None = None
    outcome_wait: float = 3.0

    async def ask(self, subject: str, message: BaseModel) -> dict[str, Any]:
        """A service's reply, or the service's refusal raised as a problem."""
        try:
            reply = await self.bus.ask(subject, message)
        except ServiceUnavailable:
            raise ProblemError("service_unavailable", "The service is busy; try again.", "Layanan sibuk; coba lagi.") from None
        if reply.get("problem"):
            raise ProblemError.from_reply(reply["problem"])
        return reply


def gateway(request: Request) -> Gateway:
    return request.app.state.gateway


def identity(request: Request, authorization: Annotated[str | None, Header()] = None) -> Identity:
    try:
        return gateway(request).verifier.verify(authorization)
    except Unauthenticated as error:
        raise ProblemError("unauthenticated", str(error), "Token tidak valid atau tidak ada.") from None


def device(x_device_id: Annotated[str, Header(min_length=8, max_length=128, description="Stable device id.")]) -> str:
    return x_device_id


GatewayDep = Annotated[Gateway, Depends(gateway)]
Who = Annotated[Identity, Depends(identity)]
DeviceId = Annotated[str, Depends(device)]
