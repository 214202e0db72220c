"""The audit: replays every service's event store from the first event and checks the rulebook's invariants.

It is an operations tool, not a service: it reads the stores directly (SQLite or PostgreSQL), rebuilds
all state from nothing in notification order, and proves — or disproves — that nothing was overbooked,
lost or bent. `paspor audit` is its command line; `run_audit` its entry point.
"""

from .findings import AuditResult, Evidence, Finding
from .run import run_audit
from .scope import Scope

__all__ = ["AuditResult", "Evidence", "Finding", "Scope", "run_audit"]
