"""The chaos run's verdict: the audit is clean and no acknowledged booking was lost or changed its answer.

Acknowledged means answered 201 (decided) or 202 (recorded, pending) with a booking id. Lost: read back
after the run, the system does not know it (404) or never decided it. Changed: answered confirmed,
read back as something else. Two confirmed bookings with one queue number in one session are a double
booking. Bookings never answered (the client gave up) are reported, not judged: nothing was promised.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from paspor.load.records import FINAL, Attempt


@dataclass
class Verdict:
    audit_ok: bool
    lost: list[Attempt] = field(default_factory=list)
    changed: list[Attempt] = field(default_factory=list)
    doubled: list[tuple[tuple[str, str, str], int | None]] = field(default_factory=list)  # (session, queue number)
    unanswered: int = 0
    healthy: bool = True  # every fault undone and every process running at the end

    @property
    def ok(self) -> bool:
        return self.audit_ok and self.healthy and not self.lost and not self.changed and not self.doubled

    def lines(self) -> list[str]:
        said = [f"audit: {'clean' if self.audit_ok else 'BROKEN'}"]
        said.append(f"every fault undone, every process running at the end: {'yes' if self.healthy else 'NO'}")
        said.append(f"acknowledged bookings lost: {len(self.lost)}")
        said += [f"  lost: booking {a.booking_id} (citizen {a.serial}): now {a.booking_status}" for a in self.lost[:20]]
        said.append(f"answered confirmed, read back otherwise: {len(self.changed)}")
        said += [f"  changed: booking {a.booking_id}: now {a.booking_status}" for a in self.changed[:20]]
        said.append(f"queue numbers given twice: {len(self.doubled)}")
        said += [f"  doubled: {session} number {number}" for session, number in self.doubled[:20]]
        said.append(f"bookings never answered (client gave up; not judged): {self.unanswered}")
        return said


def judge(attempts: list[Attempt], audit_ok: bool, healthy: bool = True) -> Verdict:
    """Judge attempts whose acknowledged bookings were read back (`follow`)."""
    acknowledged = [a for a in attempts if a.acknowledged]
    numbers = Counter((a.slot, a.queue_number) for a in acknowledged if a.booking_status == "confirmed")
    return Verdict(
        audit_ok=audit_ok,
        lost=[a for a in acknowledged if a.booking_status not in FINAL],
        changed=[a for a in acknowledged if a.answered_status == "confirmed" and a.booking_status != "confirmed"],
        doubled=sorted(key for key, count in numbers.items() if count > 1),
        unanswered=sum(1 for a in attempts if a.failure is not None),
        healthy=healthy,
    )
