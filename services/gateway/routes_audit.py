"""Operators: the latest audit's verdict, as `paspor audit` saved it in the gateway's data folder."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, Field

from shared.audit_summary import AuditSummary, load_latest

from .deps import GatewayDep, Operator

router = APIRouter(prefix="/v1/operator", tags=["operators"])


class LatestAudit(BaseModel):
    """The latest audit saved in the data folder, if any (the gateway never runs one itself)."""

    audit: AuditSummary | None = Field(description="None: no audit was saved here yet (run `paspor audit`).")


@router.get("/audit", summary="The latest audit's verdict (saved by `paspor audit` in the data folder)")
async def latest_audit(gw: GatewayDep, who: Operator) -> LatestAudit:
    return LatestAudit(audit=None if gw.data_dir is None else load_latest(gw.data_dir))
