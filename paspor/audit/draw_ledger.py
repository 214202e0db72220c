"""Replays the release draws of the quota store and recomputes each one from its revealed seed (ADR 10).

A draw is checked as anyone could check it from the log: the revealed seed's SHA-256 must be the
commitment recorded before the window opened, the recorded order must be the one `shared.draw`
makes from that seed and the entries in the order they joined (a single position off fails), no NIK
or account may hold two places in it, and the slots it offered must follow its order (queue numbers
rise with the draw position in each session).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from shared.draw import draw_order
from shared.draw import verify as verify_draw

from .findings import AuditResult
from .quota_ledger import QuotaLedger
from .records import Record, plain
from .scope import Scope


@dataclass
class DrawState:
    """One (office, date)'s draw as rebuilt from its events."""

    office: str
    day: dt.date
    commitment: str
    opens_at: dt.datetime
    committed: Record
    entries: list[str] = field(default_factory=list)  # in join order: the draw's input
    keys: dict[str, str] = field(default_factory=dict)  # keyed NIK/account id -> the entry holding it
    twice: list[tuple[str, str, Record]] = field(default_factory=list)
    order: list[str] | None = None
    drawn: Record | None = None
    seed: str | None = None
    revealed: Record | None = None

    @property
    def name(self) -> str:
        return f"draw {self.office} {self.day}"


class DrawLedger:
    """Every release draw in the quota store, checked once the whole store is read (`check`)."""

    kinds = frozenset(
        {
            "ReleaseDraw.Committed",
            "ReleaseDraw.Joined",
            "ReleaseDraw.Left",
            "ReleaseDraw.Drawn",
            "ReleaseDraw.Revealed",
        }
    )

    def __init__(self, result: AuditResult, scope: Scope) -> None:
        self.result, self.scope = result, scope
        self.draws: dict[str, DrawState] = {}

    def apply(self, record: Record) -> None:
        kind, state = record.kind, record.state
        if kind == "ReleaseDraw.Committed":
            self.draws[record.aggregate_id] = DrawState(
                state["office"], plain(state["day"]), state["commitment"], plain(state["opens_at"]), record
            )
            return
        draw = self.draws.get(record.aggregate_id)
        if draw is None:
            return  # its Committed is missing: reported as a version gap
        if kind == "ReleaseDraw.Joined":
            self._joined(draw, state["entries"], record)
        elif kind == "ReleaseDraw.Drawn":
            draw.order, draw.drawn = list(state["order"]), record
        elif kind == "ReleaseDraw.Revealed":
            draw.seed, draw.revealed = state["seed"], record

    def _joined(self, draw: DrawState, entries: list[dict[str, Any]], record: Record) -> None:
        for entry in entries:
            if entry["behind"]:
                continue  # a second entry of a NIK or account: served after the draw, never in it
            draw.entries.append(entry["booking_id"])
            for key in entry["keys"]:
                holder = draw.keys.setdefault(key, entry["booking_id"])
                if holder != entry["booking_id"]:
                    draw.twice.append((holder, entry["booking_id"], record))

    def check(self, quota: QuotaLedger) -> None:
        """Recompute every draw from its seed; compare the order, the commitment and the offers."""
        for draw in self.draws.values():
            if self.scope.covers(draw.office, draw.day):
                self._check(draw, quota)

    def _check(self, draw: DrawState, quota: QuotaLedger) -> None:
        add = self.result.add
        if draw.committed.timestamp > draw.opens_at:
            add(
                "draw_committed_late",
                draw.name,
                f"committed at {draw.committed.timestamp:%H:%M:%S}Z, after the window opened",
                draw.committed,
            )
        for first, second, record in draw.twice:
            add("draw_identity_twice", draw.name, f"entries {first} and {second} share a NIK or account", record)
        if draw.order is None:
            return
        if draw.seed is None:
            add("draw_seed_not_revealed", draw.name, "drawn, but its seed was never revealed", draw.drawn)
            return
        try:
            seed = bytes.fromhex(draw.seed)
        except ValueError:
            add("draw_seed_not_committed", draw.name, "the revealed seed is not hex", draw.revealed)
            return
        for wrong in verify_draw(draw.entries, draw.order, seed, draw.commitment):
            code = "draw_seed_not_committed" if "commitment" in wrong else "draw_order_differs"
            add(
                code,
                draw.name,
                wrong,
                draw.committed if code == "draw_seed_not_committed" else draw.drawn,
                draw.revealed,
            )
        self._offers(draw, draw_order(draw.entries, seed), quota)

    def _offers(self, draw: DrawState, order: list[str], quota: QuotaLedger) -> None:
        """In each session, the drawn entries' queue numbers rise with their place in the draw."""
        last: dict[str, tuple[int, str]] = {}
        for booking_id in order:
            for reservation in quota.reservations.get(booking_id.replace("-", ""), [])[:1]:
                session = reservation.session.name
                before = last.get(session)
                if before is not None and reservation.number < before[0]:
                    self.result.add(
                        "draw_offer_out_of_order",
                        draw.name,
                        f"{booking_id} got queue number {reservation.number} in {session} after {before[1]} got {before[0]}",
                        reservation.record,
                    )
                last[session] = (reservation.number, booking_id)
