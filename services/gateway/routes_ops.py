"""Health, readiness and the development token issuer."""

from typing import Literal

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from .deps import GatewayDep
from .problems import ProblemError

router = APIRouter()


class TokenBody(BaseModel):
    """DEVELOPMENT ONLY: who to sign a token for."""

    model_config = ConfigDict(extra="forbid")
    subject: str = Field(min_length=1, max_length=200, description="User id (e.g. an email).")
    name: str = Field(default="", max_length=120, description="Display name.")
    role: Literal["citizen", "officer", "operator"] = Field(default="citizen", description="Role to grant.")
    office: str | None = Field(default=None, max_length=16, description="An officer's office code.")


@router.get("/health", tags=["ops"])
async def health() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/ready", tags=["ops"])
async def ready(gw: GatewayDep) -> JSONResponse:
    return JSONResponse({"ready": gw.bus.ready}, status_code=200 if gw.bus.ready else 503)


@router.post("/v1/dev/token", tags=["development"], summary="DEVELOPMENT ONLY: get a signed token")
async def dev_token(body: TokenBody, gw: GatewayDep) -> dict[str, str]:
    if gw.dev_issuer is None:
        raise ProblemError("not_found", "The development issuer is off.", "Penerbit token pengembangan tidak aktif.", status=404)
    return {"access_token": gw.dev_issuer.issue(body.subject, body.name, body.role, body.office), "token_type": "bearer",
            "warning": "development issuer: never enable in production"}
