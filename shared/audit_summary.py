"""The latest audit's verdict, as `paspor audit` saves it in the data folder and the gateway shows it to operators."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

LATEST_AUDIT = Path("audit") / "latest.json"  # inside the data folder


class AuditSummary(BaseModel):
    """What an audit found, in a few numbers (the full report is `paspor audit --format json`)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    ran_at: dt.datetime = Field(description="When the audit ran (the system's clock), UTC.")
    verdict: str = Field(pattern="^(ok|broken)$", description="ok: every invariant holds; broken: findings.")
    events_read: int = Field(ge=0, description="Events replayed, all stores together.")
    findings: int = Field(ge=0, description="Broken invariants found (0 when ok).")
    broken: dict[str, int] = Field(default_factory=dict, description="Findings per invariant.")
    skipped_stores: list[str] = Field(default_factory=list, description="Stores that could not be read.")
    seconds: float = Field(ge=0, description="How long the replay took.")
    jetstream: bool = Field(default=False, description="Whether the JetStream streams were cross-checked too.")


def save_latest(summary: AuditSummary, data_dir: Path) -> Path:
    """Write the summary as the data folder's latest audit (replacing the previous one at once)."""
    path = data_dir / LATEST_AUDIT
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".tmp")
    partial.write_text(summary.model_dump_json(indent=2))
    partial.replace(path)
    return path


def load_latest(data_dir: Path) -> AuditSummary | None:
    """The data folder's latest audit, or None when no audit was saved there (or the file is unreadable)."""
    path = data_dir / LATEST_AUDIT
    try:
        return AuditSummary.model_validate_json(path.read_text())
    except (OSError, ValidationError):
        return None
