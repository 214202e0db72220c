"""Group commit: what arrives while the writer is busy is decided and saved together, in one save.

Callers submit one item each and await its own result. While the writer thread saves one group,
the items that arrive meanwhile wait in line; the next group takes all of them (up to `max_group`).
One durable commit serves many callers, so a service keeps up with a rush; with `max_group=1`
every item has its own save.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from concurrent.futures import Executor
from typing import Generic, TypeVar

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
    ) -> None:
        self.decide, self.writer, self.on_saved, self.max_group, self.name = decide, writer, on_saved, max_group, name
        self.pending: list[tuple[Item, asyncio.Future[Result]]] = []
        self.groups = 0  # saves made, for tests and metrics
        self._drainer: asyncio.Task[None] | None = None

    async def submit(self, item: Item) -> Result:
        """This item's result, once its group is saved (or the store's error, raised)."""
        future: asyncio.Future[Result] = asyncio.get_running_loop().create_future()
        self.pending.append((item, future))
        if self._drainer is None or self._drainer.done():
            self._drainer = asyncio.create_task(self._drain(), name=self.name)
        return await future

    async def _drain(self) -> None:
        loop = asyncio.get_running_loop()
        while self.pending:
            group, self.pending = self.pending[: self.max_group], self.pending[self.max_group :]
            try:
                results = await loop.run_in_executor(self.writer, self.decide, [item for item, _ in group])
            except Exception as error:  # the store failed: every waiting caller hears it, none is lost silently
                for _, future in group:
                    if not future.done():  # a caller that gave up is not told
                        future.set_exception(error)
                continue
            self.groups += 1
            self.on_saved()
            for (_, future), result in zip(group, results, strict=True):
                if not future.done():
                    future.set_result(result)
