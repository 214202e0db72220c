"""The audit's entry point: read every store from its first event, rebuild, check, report."""

from __future__ import annotations

import contextlib
import datetime as dt
import gc
import time
from collections import Counter
from collections.abc import Callable, Iterator

from services.booking.main import BookingSettings, rules_from
from shared import clock

from .booking_ledger import BookingLedger
from .crosscheck import CrossCheck
from .draw_ledger import DrawLedger
from .findings import AuditResult
from .payment_ledger import BookingStoreLedgers, PaymentLedger
from .quota_ledger import QuotaLedger
from .records import STORES, StoreMissing, StoreReader, open_store
from .scope import Scope
from .ticket_ledger import TicketLedger

Progress = Callable[[str, int, int], None]  # store, events read so far, events in the store


def run_audit(
    settings: BookingSettings | None = None,
    scope: Scope | None = None,
    progress: Progress = lambda store, done, total: None,
) -> AuditResult:
    """Replay the quota, booking and notifier stores the settings point at; every invariant checked."""
    settings, scope = settings or BookingSettings(), scope or Scope()
    result = AuditResult(scope=scope.as_dict())
    quota, bookings, tickets = (
        QuotaLedger(result, scope),
        BookingLedger(result, scope, rules_from(settings)),
        TicketLedger(result, scope),
    )
    payments = PaymentLedger(result, bookings)
    draws = DrawLedger(result, scope)
    ledgers = {"quota": Ledgers(quota, draws), "booking": BookingStoreLedgers(bookings, payments), "notifier": tickets}
    began, latest = time.perf_counter(), dt.datetime.min.replace(tzinfo=dt.UTC)
    for name in STORES:
        try:
            reader = open_store(settings, name)
        except StoreMissing as missing:
            result.skipped_stores[name] = str(missing)
            continue
        try:
            with no_garbage_collection():
                latest = max(latest, replay(reader, ledgers[name], result, scope, progress))
        finally:
            reader.close()
    quota.waitlist.finish(scope.as_of or clock.now())  # a hold still standing past its deadline: not expired
    horizon = (scope.as_of or latest) - scope.grace
    stuck_before = (scope.as_of or clock.now()) - scope.stuck_after
    CrossCheck(result, quota, bookings, tickets, horizon, stuck_before).run()
    payments.check()
    payments.check_slots(quota, horizon)
    draws.check(quota)
    result.seconds = time.perf_counter() - began
    result.totals = quota.totals() | booking_totals(bookings) | payments.totals()
    return result


class Ledgers:
    """Two ledgers of one store (its sessions and its release draws), each fed the kinds it knows."""

    def __init__(self, *ledgers) -> None:
        self.ledgers = ledgers
        self.kinds = frozenset().union(*(ledger.kinds for ledger in ledgers))
        self._by_kind = {kind: ledger.apply for ledger in ledgers for kind in ledger.kinds}

    def apply(self, record) -> None:
        self._by_kind[record.kind](record)


def replay(reader: StoreReader, ledger, result: AuditResult, scope: Scope, progress: Progress) -> dt.datetime:
    """Feed one store's events, in order, to its ledger; returns the time of the last event read."""
    name, total, done = reader.name, reader.last_position(), [0]
    versions: dict[object, int] = {}
    known, as_of, apply = ledger.kinds, scope.as_of, ledger.apply
    latest = dt.datetime.min.replace(tzinfo=dt.UTC)

    def page_read(count: int) -> None:
        done[0] += count
        progress(name, done[0], total)

    kinds: Counter[str] = Counter()
    for record in reader.records(page_read):
        at = record.state["timestamp"]
        if as_of is not None and at > as_of:
            continue
        latest = at if at > latest else latest
        kinds[record.kind] += 1
        expected = versions.get(record.aggregate_id, 0) + 1
        if record.version != expected:
            result.add(
                "version_gap",
                f"aggregate {record.aggregate_id}",
                f"{name} store: version {record.version} follows {expected - 1}",
                record,
            )
        versions[record.aggregate_id] = record.version
        if record.kind in known:
            apply(record)
    result.events[name] += sum(kinds.values())
    for kind, count in kinds.items():
        result.kinds[f"{name}:{kind}"] += count
        if kind not in known:
            result.unknown[f"{name}:{kind}"] += count
    return latest


@contextlib.contextmanager
def no_garbage_collection() -> Iterator[None]:
    """The replay builds millions of long-lived objects and frees almost none: cyclic GC passes over them
    again and again for nothing (it halves the speed). Reference counting still frees what is dropped."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def booking_totals(bookings: BookingLedger) -> dict[str, int]:
    covered = bookings.in_scope()
    count = lambda status: sum(1 for _, t in covered if t.status == status)  # noqa: E731
    return {
        "bookings": len(covered),
        "confirmed": count("confirmed"),
        "checked_in": count("checked_in"),
        "no_show": count("no_show"),
        "cancelled": count("cancelled"),
        "rejected": count("rejected"),
        "requested": count("requested"),
        "accounts": len(bookings.accounts),
        "device_moves": len(bookings.result.device_moves),
    }
