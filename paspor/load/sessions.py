"""The sessions a steady load books: office days ahead, opened by an operator with the capacity asked."""

from __future__ import annotations

import asyncio
import datetime as dt

from paspor.rush.http import Http, TransportError
from shared import clock
from shared.calendar import is_office_day

from .steady import Slot

MAX_CAPACITY = 10_000  # the gateway's limit per session


def office_days(first_in: int, count: int) -> list[dt.date]:
    """`count` office days, the first at least `first_in` days from today."""
    days: list[dt.date] = []
    day = clock.now().date() + dt.timedelta(days=first_in)
    while len(days) < count:
        if is_office_day(day):
            days.append(day)
        day += dt.timedelta(days=1)
    return days


def slots_for(offices: list[str], days: list[dt.date]) -> list[Slot]:
    return [(office, day.isoformat(), session) for day in days for office in offices for session in ("pagi", "siang")]


async def set_capacities(http: Http, gateway: str, operator: dict[str, str], capacities: dict[Slot, int]) -> None:
    """Each session's capacity set (asked again while the system answers busy or not at all)."""
    for (office, day, session), capacity in capacities.items():
        body = {"date": day, "session": session, "capacity": capacity}
        for _ in range(60):
            try:
                reply = await http.call(
                    "PUT", f"{gateway}/v1/operator/offices/{office}/capacity", json=body, headers=operator
                )
            except TransportError:
                reply = None
            if reply is not None and reply.status < 500 and reply.code != "partition_not_held":
                break  # (a worker still waiting for its partition's lease says "try again shortly")
            await asyncio.sleep(0.5)
        if reply is None or reply.status != 200:
            raise RuntimeError(f"capacity of {office} {day} {session} not set: {reply}")
