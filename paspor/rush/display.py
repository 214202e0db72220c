"""The live view of a running rush."""

from __future__ import annotations

import time
from types import TracebackType

from rich.live import Live as RichLive
from rich.table import Table

from .runner import Live


class LiveView:
    """A one-table dashboard, refreshed by the runner's monitor."""

    def __init__(self, title: str, console) -> None:
        self.title, self.console = title, console
        self.live = RichLive(Table(), console=console, refresh_per_second=4, transient=False)

    def __enter__(self) -> LiveView:
        self.live.__enter__()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.live.__exit__(kind, error, trace)

    def update(self, live: Live) -> None:
        elapsed = max(time.monotonic() - live.started, 1e-9)
        done = live.confirmed + live.refused + live.failed
        table = Table(title=self.title, title_justify="left")
        for column in ("arrived", "in flight", "confirmed", "refused", "failed", "cancelled", "answered/s", "elapsed"):
            table.add_column(column, justify="right")
        table.add_row(
            f"{live.arrived:,}/{live.users:,}",
            f"{live.in_flight:,}",
            f"{live.confirmed:,}",
            f"{live.refused:,}",
            f"{live.failed:,}",
            f"{live.cancelled:,}",
            f"{done / elapsed:,.0f}",
            f"{elapsed:,.1f} s",
        )
        self.live.update(table)
