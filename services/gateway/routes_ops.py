"""Health, readiness, Prometheus metrics, the AsyncAPI document, and the development token issuer."""

from __future__ import annotations

from functools import lru_cache
from typing import Any, Literal

from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from .asyncapi import asyncapi_document
from .deps import GatewayDep
from .problems import ProblemError

router = APIRouter()


class TokenBody(BaseModel):
    """DEVELOPMENT ONLY: who to sign a token for."""

    model_config = ConfigDict(extra="forbid")
    subject: str = Field(
        min_length=1, max_length=200, description="User id (e.g. an email).", examples=["siti@example.com"]
    )
    name: str = Field(default="", max_length=120, description="Display name.")
    role: Literal["citizen", "officer", "operator"] = Field(default="citizen", description="Role to grant.")
    office: str | None = Field(default=None, pattern=r"^[A-Z0-9-]{2,16}$", description="An officer's office code.")


class Token(BaseModel):
    """A signed bearer token."""

    access_token: str = Field(description="The JWT, for `Authorization: Bearer ...`.")
    token_type: str = Field(description="Always bearer.", examples=["bearer"])
    warning: str = Field(description="A reminder that this issuer is for development only.")


class Health(BaseModel):
    status: str = Field(description="ok while the process runs.", examples=["ok"])


class Ready(BaseModel):
    ready: bool = Field(description="Connected to NATS and the read model is loaded.")


@router.get("/health", tags=["ops"], summary="Liveness")
async def health() -> Health:
    return Health(status="ok")


@router.get(
    "/ready",
    tags=["ops"],
    summary="Readiness",
    response_model=Ready,
    responses={503: {"model": Ready, "description": "Not ready yet."}},
)
async def ready(gw: GatewayDep) -> JSONResponse:
    return JSONResponse({"ready": gw.ready}, status_code=200 if gw.ready else 503)


@router.get(
    "/metrics",
    tags=["ops"],
    summary="Prometheus metrics",
    response_class=Response,
    responses={200: {"content": {"text/plain": {"example": "paspor_gateway_requests_total{...} 12.0"}}}},
)
async def metrics(gw: GatewayDep) -> Response:
    if gw.availability is not None:
        gw.metrics.read_model_entries.set(len(gw.availability.entries))
    return Response(gw.metrics.exposition(), media_type="text/plain; version=0.0.4; charset=utf-8")


@lru_cache(maxsize=1)
def _asyncapi(version: str) -> dict[str, Any]:
    return asyncapi_document(version)


@router.get("/asyncapi.json", tags=["ops"], summary="The AsyncAPI document of the event contract")
async def asyncapi() -> dict[str, Any]:
    return _asyncapi("1.0.0")


@router.post("/v1/dev/token", tags=["development"], summary="DEVELOPMENT ONLY: get a signed token")
async def dev_token(body: TokenBody, gw: GatewayDep) -> Token:
    if gw.dev_issuer is None:
        raise ProblemError(
            "not_found", "The development issuer is off.", "Penerbit token pengembangan tidak aktif.", status=404
        )
    if body.role == "officer" and not body.office:
        raise ProblemError("invalid_request", "An officer needs an office.", "Petugas harus punya kantor.", status=422)
    return Token(
        access_token=gw.dev_issuer.issue(body.subject, body.name, body.role, body.office),
        token_type="bearer",
        warning="development issuer: never enable in production",
    )
