"""A unit of work: the aggregates that one or many requests touched, saved in one atomic save."""

from __future__ import annotations

from collections.abc import Iterable
from concurrent.futures import Executor
from typing import Any
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Repository


class Unit:
    """Aggregates loaded or created by a group of requests; later requests see earlier ones' changes."""

    def __init__(self, repository: Repository) -> None:
        self.repository = repository
        self.touched: dict[UUID, Any] = {}
        self.loaded: dict[UUID, Any | None] = {}  # read ahead: the aggregate, or None if there is none

    def find(self, aggregate_id: UUID) -> Any | None:
        """The aggregate as this unit changed it, else as stored, else None."""
        if aggregate_id in self.touched:
            return self.touched[aggregate_id]
        if aggregate_id in self.loaded:
            return self.loaded[aggregate_id]
        return self._load(aggregate_id)

    def existing(self, aggregate_id: UUID) -> Any:
        """Like `find`, for an aggregate that is always saved with the one that names it (a booking's account)."""
        aggregate = self.find(aggregate_id)
        if aggregate is None:
            raise LookupError(f"aggregate {aggregate_id} is named but not stored")
        return aggregate

    def preload(self, aggregate_ids: Iterable[UUID], readers: Executor) -> None:
        """Read many aggregates at once, in parallel (a later conflict is still caught by the save)."""
        wanted = [i for i in dict.fromkeys(aggregate_ids) if i not in self.loaded and i not in self.touched]
        self.loaded.update(zip(wanted, readers.map(self._load, wanted), strict=True))

    def stored(self, aggregate_id: UUID) -> Any | None:
        """The aggregate as stored now, whatever this unit read before (another process may have saved it since)."""
        return self._load(aggregate_id)

    def _load(self, aggregate_id: UUID) -> Any | None:
        try:
            return self.repository.get(aggregate_id)
        except AggregateNotFoundError:
            return None

    def add(self, *aggregates: Any) -> None:
        """Mark aggregates as changed: they are saved with the unit."""
        for aggregate in aggregates:
            self.touched[aggregate.id] = aggregate

    def changed(self) -> Iterable[Any]:
        return self.touched.values()
