"""The live view of a running rush: sign-up progress, then the release's counters."""

from __future__ import annotations

import time
from types import TracebackType

from rich.live import Live as RichLive
from rich.table import Table

from .driver import Progress


class LiveView:
    """A one-table dashboard, refreshed by the driver."""

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

    def update(self, progress: Progress) -> None:
        elapsed = max(time.monotonic() - progress.started, 1e-9)
        if progress.phase == "rush":
            self.live.update(self._rush(progress, elapsed))
        else:
            self.live.update(self._sign_up(progress, elapsed))

    def _sign_up(self, progress: Progress, elapsed: float) -> Table:
        table = Table(title=f"{self.title}: signing up (token, terms) — not timed", title_justify="left")
        for column in ("accounts signed up", "per second", "elapsed"):
            table.add_column(column, justify="right")
        table.add_row(
            f"{progress.signed:,}/{progress.accounts:,}", f"{progress.signed / elapsed:,.0f}", f"{elapsed:,.1f} s"
        )
        return table

    def _rush(self, progress: Progress, elapsed: float) -> Table:
        live = progress.live
        table = Table(title=f"{self.title}: the release", title_justify="left")
        columns = ("arrived", "in flight", "attempts", "confirmed", "refused", "failed", "cancelled", "attempts/s")
        for column in (*columns, "elapsed"):
            table.add_column(column, justify="right")
        table.add_row(
            f"{live.arrived:,}/{progress.users:,}",
            f"{live.in_flight:,}",
            f"{live.attempts:,}",
            f"{live.confirmed:,}",
            f"{live.refused:,}",
            f"{live.failed:,}",
            f"{live.cancelled:,}",
            f"{live.attempts / elapsed:,.0f}" if elapsed > 0 else "0",
            f"{max(elapsed, 0):,.1f} s",
        )
        return table
