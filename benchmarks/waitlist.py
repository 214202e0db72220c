"""Waitlist offers under load: how soon a freed place is offered to the first one waiting (target: 95 % within
1 minute), while a rush keeps the quota worker busy; then how late the holds nobody accepts lapse, and how soon
their place goes to the next one. A real nats-server and `paspor service quota` process on SQLite.

The conventional alternative is a waitlist swept by a scheduled job (a cron every `--sweep-seconds`): its
figures are modelled from this run's own cancellation instants (the wait until the next sweep), not run.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import random
import statistics
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Annotated

import nats
import typer

from shared.events import BookingCancelled, BookingRequested, Slot
from shared.runtime.bus import ensure_streams

from .quota_service import QuotaServiceRun, bench_day, bench_slots, publish_all
from .report import console

CAPACITY = 100  # every office's default capacity per session


@dataclass
class Watch:
    """What the worker published: offers per session (in order) and lapses, with their arrival times."""

    # per session: (arrival, booking, hold until, queue number), in arrival order
    offers: dict[tuple, list[tuple[float, str, float, int]]] = field(default_factory=lambda: defaultdict(list))
    lapsed: dict[str, float] = field(default_factory=dict)

    async def offered(self, msg) -> None:  # noqa: ANN001
        body = json.loads(msg.data)
        slot, until = body["slot"], dt.datetime.fromisoformat(body["hold_until"]).timestamp()
        offer = (time.time(), body["booking_id"], until, body["queue_number"])
        self.offers[(slot["office"], slot["date"], slot["session"])].append(offer)

    async def decided(self, msg) -> None:  # noqa: ANN001
        for d in json.loads(msg.data)["decisions"]:
            if d["reason"] == "hold_lapsed":
                self.lapsed[d["booking_id"]] = time.time()

    def count(self) -> int:
        return sum(len(o) for o in self.offers.values())


def command(
    sessions: Annotated[int, typer.Option(min=1, max=500, help="Full sessions, each with its waitlist.")] = 20,
    waiting: Annotated[int, typer.Option(min=2, help="Bookings waiting per session.")] = 10,
    cancellations: Annotated[int, typer.Option(min=1, help="Bookings cancelled during the rush.")] = 100,
    rate: Annotated[
        int, typer.Option(min=0, help="Rush requests/s (refused sold_out) during the cancellations.")
    ] = 500,
    seconds: Annotated[float, typer.Option(min=1, help="How long the rush and the cancellations last.")] = 20,
    hold_seconds: Annotated[
        int, typer.Option(min=1, help="PASPOR_QUOTA_HOLD_SECONDS for this run (longer than the rush).")
    ] = 30,
    tick_seconds: Annotated[float, typer.Option(help="PASPOR_QUOTA_HOLD_TICK_SECONDS for this run.")] = 5.0,
    sweep_seconds: Annotated[float, typer.Option(min=1, help="The modelled cron sweep's period.")] = 60.0,
) -> None:
    if cancellations > sessions * (waiting // 2):
        raise typer.BadParameter("at most sessions x waiting/2 cancellations (each place is offered twice)")
    if hold_seconds <= seconds + tick_seconds:
        raise typer.BadParameter("holds must outlast the rush (+ a tick): the offers after cancellations come first")
    os.environ |= {"PASPOR_QUOTA_HOLD_SECONDS": str(hold_seconds), "PASPOR_QUOTA_HOLD_TICK_SECONDS": str(tick_seconds)}
    slots = bench_slots(sessions, bench_day())
    with QuotaServiceRun("sqlite", None, batch=500) as run:
        watch, cancelled_at, cpu, took = asyncio.run(_measure(run, slots, waiting, cancellations, rate, seconds))
    _report(watch, cancelled_at, cpu, took, sweep_seconds, hold_seconds, cancellations)


async def _measure(
    run: QuotaServiceRun, slots: list[Slot], waiting: int, cancellations: int, rate: int, seconds: float
) -> tuple[Watch, dict[tuple, list[float]], float, float]:
    nc = await nats.connect(servers=run.urls)
    js = nc.jetstream()
    await ensure_streams(js, 1)
    booked = {s: [_ask(s) for _ in range(CAPACITY)] for s in slots}
    await publish_all(js, [r for s in slots for r in booked[s] + [_ask(s, waitlist=True) for _ in range(waiting)]])
    sub = await nc.subscribe("paspor.quota.*.*", cb=run._arrived)
    watch = Watch()
    subs = [await nc.subscribe("paspor.quota.*.offered", cb=watch.offered)]
    subs.append(await nc.subscribe("paspor.quota.*.decided", cb=watch.decided))
    run.start_workers()
    await run._until(len(slots) * (CAPACITY + waiting), timeout=300)  # every session full, its waitlist joined
    await sub.unsubscribe()
    began_cpu, began = time.process_time(), time.time()
    cancelled_at: dict[tuple, list[float]] = defaultdict(list)
    await asyncio.gather(_rush(js, slots, rate, seconds), _cancel(js, booked, cancellations, seconds, cancelled_at))
    # every place offered twice (after its cancellation, after its first hold lapsed), the first holds lapsed
    await _until(lambda: watch.count() >= 2 * cancellations and len(watch.lapsed) >= cancellations, run, 300)
    await asyncio.sleep(1)  # the lapse and the next offer are one save, published together
    cpu, took = time.process_time() - began_cpu, time.time() - began
    for s in subs:
        await s.unsubscribe()
    await nc.close()
    return watch, cancelled_at, cpu, took


def _ask(slot: Slot, waitlist: bool = False) -> BookingRequested:
    return BookingRequested(booking_id=uuid.uuid4(), slot=slot, applicants=1, waitlist=waitlist)


def _key(slot: Slot) -> tuple:
    return slot.office, slot.date.isoformat(), slot.session.value


async def _rush(js, slots: list[Slot], rate: int, seconds: float) -> None:  # noqa: ANN001
    """Plain requests for the full sessions, a chunk every 50 ms (refused: the worker stays busy)."""
    began, sent = time.monotonic(), 0
    while (elapsed := time.monotonic() - began) < seconds:
        due = int(rate * elapsed) - sent
        if due > 0:
            await publish_all(js, [_ask(random.choice(slots)) for _ in range(due)])
            sent += due
        await asyncio.sleep(0.05)


async def _cancel(js, booked, count: int, seconds: float, cancelled_at) -> None:  # noqa: ANN001
    """`count` confirmed bookings cancelled, evenly over the rush, the sessions in turn."""
    order = [(s, booked[s][i]) for i in range(count) for s in booked][:count]
    began = time.monotonic()
    for i, (slot, request) in enumerate(order):
        await asyncio.sleep(max(0.0, began + i * seconds / count - time.monotonic()))
        cancel = BookingCancelled(booking_id=request.booking_id, slot=slot, was_confirmed=True)
        cancelled_at[_key(slot)].append(time.time())
        await publish_all(js, [cancel])  # type: ignore[list-item]


async def _until(done, run: QuotaServiceRun, timeout: float) -> None:  # noqa: ANN001
    deadline = time.monotonic() + timeout
    while not done():
        if time.monotonic() > deadline or any(w.poll() is not None for w in run.workers):
            raise TimeoutError(f"the offers or lapses did not all come; see the logs in {run.folder}")
        await asyncio.sleep(0.1)


def _report(watch: Watch, cancelled_at, cpu: float, took: float, sweep: float, hold: int, count: int) -> None:  # noqa: ANN001
    first: list[float] = []
    after_lapse: list[float] = []
    lateness: list[float] = []
    for key, cancels in cancelled_at.items():
        offers, n = sorted(watch.offers[key]), len(cancels)  # the holds outlast the rush: its offers come first
        first += [offer[0] - t for offer, t in zip(offers[:n], cancels, strict=True)]  # freed in order, offered so
        lateness += [watch.lapsed[offer[1]] - offer[2] for offer in offers[:n]]
        dues = sorted(offer[2] for offer in offers[:n])  # each lapse gives its place to the next one waiting
        after_lapse += [offer[0] - due for offer, due in zip(offers[n : 2 * n], dues, strict=True)]
    # the cron's phase is unknown: each cancellation instant against 100 evenly spread phases
    swept = [sweep - ((t - k * sweep / 100) % sweep) for ts in cancelled_at.values() for t in ts for k in range(100)]
    within = lambda xs: sum(1 for x in xs if x <= 60) / len(xs) * 100  # noqa: E731
    p = lambda xs, q: sorted(xs)[min(len(xs) - 1, int(q / 100 * len(xs)))]  # noqa: E731
    console.print(f"[bold]Waitlist offers under load[/bold]: {count} places freed during the rush, holds of {hold} s")
    for name, xs in (
        ("offer after a cancellation (ours)", first),
        (f"offer after a cancellation (cron sweep every {sweep:g} s, modelled)", swept),
        ("offer to the next one after a hold lapsed (from its deadline)", after_lapse),
        ("lapse recorded after the deadline", lateness),
    ):
        console.print(
            f"  {name}: within 1 min {within(xs):.1f} %, p50 {p(xs, 50) * 1000:,.0f} ms, "
            f"p99 {p(xs, 99) * 1000:,.0f} ms, max {max(xs) * 1000:,.0f} ms"
        )
    ratio = statistics.median(swept) / statistics.median(first)
    console.print(f"  ratio of median offer delays (cron sweep / ours): {ratio:,.0f}x")
    console.print(f"  client CPU: {cpu:.1f} s over {took:.1f} s ({cpu / took * 100:.0f} % of one core)")
