"""The one way the booking application changes state: decide in a unit of work, then save it atomically."""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable, Iterator, Sequence
from typing import TypeVar

from eventsourcing.application import Application
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import IntegrityError

from shared.runtime.store import evict

from .errors import BookingError, ConcurrentRequest
from .unit import Unit

T = TypeVar("T")


class Writer:
    """Units of work over one application's repository, and their saves (a lost race reloads, once)."""

    def __init__(self, app: Application) -> None:
        self.app = app

    def unit(self) -> Unit:
        return Unit(self.app.repository)

    def decide(self, action: Callable[[Unit], T]) -> T:
        """Act in a fresh unit and save it; a lost race reloads and decides again, once."""
        for attempt in (1, 2):
            unit = self.unit()
            with self.undone_on_failure(unit):
                result = action(unit)
            try:
                self.save(*unit.changed())
                return result
            except ConcurrentRequest:
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def decide_all(self, actions: Sequence[Callable[[Unit], T]]) -> list[T | BookingError]:
        """Independent actions in one unit and one save; each refusal stays its own (a group commit).

        An action checks before it changes anything, so a refused one leaves the unit as it was. If
        another writer raced the group, each action is decided and saved alone.
        """
        unit = self.unit()
        with self.undone_on_failure(unit):
            results = [refusal_or(functools.partial(action, unit)) for action in actions]
        try:
            self.save(*unit.changed())
        except ConcurrentRequest:
            return [refusal_or(functools.partial(self.decide, action)) for action in actions]
        return results

    @contextlib.contextmanager
    def undone_on_failure(self, unit: Unit) -> Iterator[None]:
        """A decision that failed half-way leaves nothing changed in the cache either."""
        try:
            yield
        except BaseException:
            self.forget(list(unit.changed()))
            raise

    def save(self, *aggregates: Aggregate) -> None:
        """Save atomically; a conflict with another writer is a `ConcurrentRequest`, and the cache forgets."""
        if not any(aggregate.pending_events for aggregate in aggregates):
            return  # e.g. outcomes recorded already on the fast path, met again through JetStream
        try:
            self.app.save(*aggregates)
        except IntegrityError:
            self.forget(aggregates)
            raise ConcurrentRequest() from None
        except BaseException:
            self.forget(aggregates)
            raise

    def forget(self, aggregates: Sequence[Aggregate]) -> None:
        """Drop from the cache what a failed save left ahead of the store (reloaded on next use)."""
        evict(self.app, (aggregate.id for aggregate in aggregates))


def refusal_or(attempt: Callable[[], T]) -> T | BookingError:
    """The attempt's result, or the refusal it raised (other errors propagate)."""
    try:
        return attempt()
    except BookingError as error:
        return error
