"""The availability read model rebuilt from the quota store: after a disaster took the bucket, or when asked.

The read model (`paspor_availability`) is written after each decision; if the bucket is lost (a
JetStream store wiped), the gateways would show every session as free. The store has every session:
a worker puts each of its partitions' sessions again, at start when it finds no record of having
done so (the record lives in the relay bucket: lost with the streams, it is found missing), and on
`paspor rebuild availability`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from uuid import UUID

from eventsourcing.utils import get_topic

from .domain import SessionQuota

PAGE = 1000


def sessions_in_store(app: Any, owned: Callable[[str], bool]) -> list[SessionQuota]:
    """Every session the store holds whose office `owned` accepts (read on the writer thread)."""
    topic = get_topic(SessionQuota.Opened)
    ids: list[UUID] = []
    start = 1
    while True:
        page = app.recorder.select_notifications(start, PAGE, topics=[topic])
        ids.extend(n.originator_id for n in page)
        if len(page) < PAGE:
            break
        start = page[-1].id + 1
    sessions = [app.repository.get(i) for i in dict.fromkeys(ids)]
    return [s for s in sessions if owned(s.office)]


def marker_key(partition: int) -> str:
    """Where a worker records that it rebuilt a partition's read model (`quota.*` in the relay bucket)."""
    return f"quota.availability-p{partition:02d}"
