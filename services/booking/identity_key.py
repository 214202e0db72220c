"""Which identity key the booking store's NIK-claim ids were made with: a service with another refuses to start.

Claims made with one key are invisible under another, so a changed key would quietly let a NIK be
booked twice. The store records the key's fingerprint (never the key); `paspor keys rotate-identity`
is the one way to change it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.domain import Aggregate, event
from eventsourcing.persistence import IntegrityError

from shared.events import derived_id
from shared.pseudonyms import Pseudonyms

ROTATE = "run `paspor keys rotate-identity` (with the booking service stopped)"


class IdentityKeyMismatch(RuntimeError):
    """The configured identity key is not the one the store's claims were made with."""


class IdentityKeyInUse(Aggregate):
    """The fingerprint of the key that the store's NIK-claim ids are made with."""

    if TYPE_CHECKING:  # the event classes that @event makes below; their fields are the methods' arguments
        Recorded: ClassVar[type[Any]]
        Rotated: ClassVar[type[Any]]

    ID: ClassVar[UUID] = derived_id("identity-key-in-use")

    @classmethod
    def create_id(cls, fingerprint: str) -> UUID:
        return cls.ID

    @event("Recorded")
    def __init__(self, fingerprint: str) -> None:
        self.fingerprint = fingerprint

    @event("Rotated")
    def rotate(self, fingerprint: str) -> None:
        self.fingerprint = fingerprint


def key_in_use(app: Application) -> IdentityKeyInUse | None:
    try:
        marker: object = app.repository.get(IdentityKeyInUse.ID)
    except AggregateNotFoundError:
        return None
    assert isinstance(marker, IdentityKeyInUse)
    return marker


def check_identity_key(app: Application, pseudonyms: Pseudonyms) -> None:
    """Record the key on a new store; refuse another key, or a store from before keyed ids."""
    marker = key_in_use(app)
    if marker is None:
        if app.recorder.max_notification_id():
            raise IdentityKeyMismatch(f"the booking store predates keyed NIK-claim ids: {ROTATE}")
        try:
            app.save(IdentityKeyInUse(pseudonyms.fingerprint))
            return
        except IntegrityError:  # another replica recorded it first: it must be the same key
            marker = key_in_use(app)
            assert marker is not None
    if marker.fingerprint != pseudonyms.fingerprint:
        raise IdentityKeyMismatch(
            f"the identity key (PASPOR_IDENTITY_KEY or keys/identity.key) is not the one the booking store's "
            f"NIK claims were made with (fingerprint {pseudonyms.fingerprint}, store {marker.fingerprint}): "
            f"restore that key, or {ROTATE}"
        )
