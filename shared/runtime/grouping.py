"""Group commit: what arrives while the writer is busy is decided and saved together, in one save.

Callers submit one item each and await its own result. While the writer thread saves one group,
the items that arrive meanwhile wait in line; the next group takes all of them (up to `max_group`).
One durable commit serves many callers, so a service keeps up with a rush; with `max_group=1`
every item has its own save.

A traced item (one whose caller runs in a sampled span) gets a `<name> queued` and a `<name>` (commit)
span in its own trace; the group gets a `<name> batch` span linked to every traced item in it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from concurrent.futures import Executor
from typing import Generic, TypeVar

from . import hops

Item = TypeVar("Item")
Result = TypeVar("Result")


class GroupCommit(Generic[Item, Result]):
    """Hands items to `decide` (run on the writer) in groups; each caller gets its own item's result."""

    def __init__(
        self,
        decide: Callable[[Sequence[Item]], Sequence[Result]],
        writer: Executor,
        on_saved: Callable[[], None],
        max_group: int = 500,
        name: str = "group-commit",
        booking_of: Callable[[Item], object] | None = None,
    ) -> None:
        self.decide, self.writer, self.on_saved, self.max_group, self.name = decide, writer, on_saved, max_group, name
        self.booking_of = booking_of  # the booking an item is about: its spans say so (None: items are not traced)
        self.pending: list[tuple[Item, asyncio.Future[Result]]] = []
        self.traced: dict[int, tuple[str, str, int]] = {}  # id(future) -> (booking, caller's context, joined)
        self.groups = 0  # saves made, for tests and metrics
        self._drainer: asyncio.Task[None] | None = None

    async def submit(self, item: Item) -> Result:
        """This item's result, once its group is saved (or the store's error, raised)."""
        future: asyncio.Future[Result] = asyncio.get_running_loop().create_future()
        self.pending.append((item, future))
        if self.booking_of is not None and (parent := hops.current()) is not None:
            self.traced[id(future)] = (str(self.booking_of(item)), parent, hops.now())
        if self._drainer is None or self._drainer.done():
            self._drainer = asyncio.create_task(self._drain(), name=self.name)
        return await future

    async def _drain(self) -> None:
        while self.pending:
            group, self.pending = self.pending[: self.max_group], self.pending[self.max_group :]
            items = [item for item, _ in group]
            spans = hops.group(self.name, [t for _, f in group if (t := self.traced.pop(id(f), None))])
            try:
                results = await hops.on_writer(
                    self.writer, self.decide, items, saving=spans if spans is not None else {}
                )
            except Exception as error:  # the store failed: every waiting caller hears it, none is lost silently
                if spans is not None:
                    spans.end(error)
                for _, future in group:
                    if not future.done():  # a caller that gave up is not told
                        future.set_exception(error)
                continue
            if spans is not None:
                spans.end()
            self.groups += 1
            self.on_saved()
            for (_, future), result in zip(group, results, strict=True):
                if not future.done():
                    future.set_result(result)
