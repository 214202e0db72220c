"""Moving every NIK claim of a booking store to a new identity key (`paspor keys rotate-identity`).

The claims are found by their event topics, not by their ids, so the old key is not needed: a store
from before keyed ids (unkeyed `uuid5`) is migrated the same way. The new claims and the store's key
marker are saved in one save; then the old claims' rows are deleted, so that no id made with the old
key (or none) stays in the store. Run it with the booking service stopped; run it again after a
crash and it finishes what is left.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from eventsourcing.application import Application
from eventsourcing.utils import get_topic

from shared.pseudonyms import Pseudonyms

from .domain import NikClaim
from .identity_key import IdentityKeyInUse, key_in_use

PAGE = 1000


@dataclass
class ClaimRecord:
    """One stored claim, as its events tell it."""

    nik: str = ""
    booking_id: str | None = None


@dataclass
class Rotation:
    """What a rotation did."""

    claims: int = 0  # claims under the old key (or none)
    claimed: int = 0  # of those, holding an upcoming booking
    moved: list[UUID] = field(default_factory=list)  # old ids whose rows were deleted
    fingerprint: str = ""


def rotate_identity(app: Application, new: Pseudonyms, progress: Callable[[int], None] = lambda done: None) -> Rotation:
    """Re-key every NIK claim of the store to `new`, keeping what each one holds."""
    claims = dict(_claims(app, progress))
    old = {claim_id: record for claim_id, record in claims.items() if claim_id != NikClaim.id_for(record.nik, new)}
    done = Rotation(claims=len(old), claimed=sum(1 for r in old.values() if r.booking_id), fingerprint=new.fingerprint)
    renewed: list[Any] = []
    for record in old.values():
        if NikClaim.id_for(record.nik, new) in claims:
            continue  # moved by an earlier run that stopped before deleting the old rows
        claim = NikClaim.opened(record.nik, new)
        if record.booking_id:
            claim.claim(record.booking_id)
        renewed.append(claim)
    marker = key_in_use(app)
    if marker is None:
        renewed.append(IdentityKeyInUse(new.fingerprint))
    elif marker.fingerprint != new.fingerprint:
        marker.rotate(new.fingerprint)
        renewed.append(marker)
    if renewed:
        app.save(*renewed)
    _delete(app, list(old))
    done.moved = list(old)
    return done


def _claims(app: Application, progress: Callable[[int], None]) -> Iterator[tuple[UUID, ClaimRecord]]:
    topics = [get_topic(cls) for cls in (NikClaim.Opened, NikClaim.Claimed, NikClaim.Freed)]  # type: ignore[attr-defined]
    records: dict[UUID, ClaimRecord] = {}
    start, seen = 1, 0
    while True:
        page = app.recorder.select_notifications(start, PAGE, topics=topics)
        for notification in page:
            event: Any = app.mapper.to_domain_event(notification)
            record = records.setdefault(event.originator_id, ClaimRecord())
            if isinstance(event, NikClaim.Opened):  # type: ignore[attr-defined]
                record.nik = event.nik
            elif isinstance(event, NikClaim.Claimed):  # type: ignore[attr-defined]
                record.booking_id = event.booking_id
            elif record.booking_id == event.booking_id:  # freed
                record.booking_id = None
        seen += len(page)
        progress(seen)
        if len(page) < PAGE:
            break
        start = page[-1].id + 1
    yield from records.items()


def _delete(app: Application, ids: list[UUID]) -> None:
    """Delete the rows of the given aggregates (SQLite or PostgreSQL stores; in memory there are no rows)."""
    if not ids:
        return
    recorder: Any = app.recorder
    datastore = getattr(recorder, "datastore", None)
    if datastore is None:
        raise RuntimeError("this event store keeps no rows to delete (in memory): nothing to rotate")
    table = recorder.events_table_name
    for chunk in (ids[i : i + PAGE] for i in range(0, len(ids), PAGE)):
        with datastore.transaction(commit=True) as cursor:
            if type(recorder).__module__.startswith("eventsourcing.sqlite"):
                forms = [form for i in chunk for form in (i.hex, str(i))]  # eventsourcing writes the hex form
                marks = ",".join("?" * len(forms))
                cursor.execute(f"DELETE FROM {table} WHERE originator_id IN ({marks})", forms)
            else:
                cursor.execute(f"DELETE FROM {table} WHERE originator_id = ANY(%s)", (chunk,))
