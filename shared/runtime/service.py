"""Running one service: connect, declare streams, run its tasks until SIGTERM or Ctrl-C."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import gc
import logging
import signal
from collections.abc import Awaitable, Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from faststream.nats import NatsBroker
from nats.aio.client import Client
from nats.js import JetStreamContext

from shared.clock import use

from . import tracing
from .bus import connect, ensure_streams
from .consumer import BatchConsumer, ConsumerSpec, Handler
from .relay import Relay, Scope, ToWire
from .settings import CommonSettings

log = logging.getLogger(__name__)
CONSUMER_GRACE = 3.0  # seconds consumers have to finish their batch at stop before they are cancelled


class Runtime:
    """One service's connections, writer thread and background tasks."""

    def __init__(self, name: str, settings: CommonSettings) -> None:
        self.name, self.settings = name, settings
        self.clock = settings.clock()
        use(self.clock)  # every rule and message of this process takes its time from it
        provider = tracing.configure(name, settings)
        if provider is not None and settings.event_store == "postgres":
            tracing.instrument_psycopg(provider)
        self.writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"{name}-writer")
        # faststream logs each message at DEBUG and each subscriber task it ends at INFO ("callback
        # for Task-12 is being executed..." twenty times at every stop): only its warnings are shown.
        broker_log = logging.getLogger(f"paspor.{name}.broker")
        broker_log.setLevel(logging.WARNING)
        self.broker = NatsBroker(
            settings.nats_servers,
            logger=broker_log,
            log_level=logging.DEBUG,
            max_reconnect_attempts=-1,
            **settings.broker_options(),
        )
        self.nc: Client | None = None
        self.js: JetStreamContext | None = None
        self.tasks: list[asyncio.Task[Any]] = []
        self.consumers: list[BatchConsumer] = []  # asked to stop before their tasks are cancelled
        self.on_stop: list[Callable[[], Awaitable[None] | None]] = []
        self._stopping = asyncio.Event()
        self.failed = False

    async def start(self) -> JetStreamContext:
        """Connect and declare the streams."""
        self.nc = await connect(self.settings.nats_servers, self.name, self.settings)
        self.js = self.nc.jetstream()
        await ensure_streams(self.js, self.settings.stream_replicas, self.settings.retention)
        return self.js

    def relay(self, app: Any, to_wire: ToWire, scope: Scope | None = None) -> Relay:
        """The service's outbox relay, timed by its settings (connect first)."""
        if self.js is None:
            raise RuntimeError("start the runtime before building its relay")
        settings = self.settings
        return Relay(
            self.name,
            app,
            self.js,
            to_wire,
            self.writer,
            scope=scope,
            idle_wait=settings.relay_idle_wait,
            ack_timeout=settings.relay_ack_timeout,
        )

    def consumer(self, spec: ConsumerSpec, handler: Handler) -> BatchConsumer:
        """A durable consumer of the service, lingering and backing off as its settings say (connect first)."""
        if self.js is None:
            raise RuntimeError("start the runtime before building its consumers")
        settings = self.settings
        timed = dataclasses.replace(
            spec,
            linger=settings.consumer_linger,
            backoff=settings.backoff,
            max_items=settings.consumer_max_items,
            max_bytes=settings.consumer_max_bytes,
        )
        consumer = BatchConsumer(self.js, timed, handler, self.name)
        self.consumers.append(consumer)
        return consumer

    def spawn(self, coro: Coroutine[Any, Any, Any], name: str) -> asyncio.Task[Any]:
        """Run a background task; its failure stops the service loudly."""
        task = asyncio.create_task(coro, name=name)
        task.add_done_callback(self._task_done)
        self.tasks.append(task)
        return task

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        if not task.cancelled() and task.exception() is not None:
            log.error("%s: task %s failed", self.name, task.get_name(), exc_info=task.exception())
            self.failed = True
            self._stopping.set()

    async def serve(self) -> None:
        """Start the broker's handlers and wait for a stop signal."""
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, self._stopping.set)
        await self.broker.start()
        settle_garbage_collector()
        log.info("%s ready", self.name)
        try:
            await self._stopping.wait()
        finally:
            await self.stop()
        if self.failed:  # a supervisor (paspor up, compose) must see that it did not stop by request
            raise SystemExit(1)

    def stop_soon(self) -> None:
        """Ask the service to stop, as SIGTERM does (a service run inside a test's process)."""
        self._stopping.set()

    async def stop(self) -> None:
        """Stop tasks, the broker and the connection; close the stores.

        Consumers are asked first and given a moment to finish their batch: a fetch cancelled while the
        server is delivering would leave its messages unacknowledged until their ack wait (30 s) runs
        out, and a restarted service would wait that long for them.
        """
        for consumer in self.consumers:
            consumer.stop()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.gather(*(c.stopped.wait() for c in self.consumers)), CONSUMER_GRACE)
        await cancel_all(self.tasks)
        # NATS may already be gone (it is stopped last, but may have died): never hang here.
        await bounded(self.broker.stop(), "stopping the broker")
        if self.nc is not None and not self.nc.is_closed:
            # close, not drain: the consumers are stopped and their unacked batches come back to
            # whoever consumes next; drain would wait for pull subscriptions that will never finish.
            await bounded(self.nc.close(), "closing the connection")
        self.writer.shutdown(wait=True)
        for callback in self.on_stop:
            result = callback()
            if asyncio.iscoroutine(result):
                await result
        tracing.shutdown()  # the spans still in memory are written
        log.info("%s stopped", self.name)


async def cancel_all(tasks: list[asyncio.Task[Any]], rounds: int = 10) -> None:
    """Cancel tasks until they are done, again if need be: in Python 3.11 a cancellation that meets
    a result at the same moment inside `asyncio.wait_for` (as in nats-py's fetch) is swallowed, and
    a single cancel then left a consumer running and the service unable to stop."""
    pending = {task for task in tasks if not task.done()}
    for _ in range(rounds):
        if not pending:
            return
        for task in pending:
            task.cancel()
        _, pending = await asyncio.wait(pending, timeout=0.5)
    log.warning("%d task(s) did not stop when cancelled", len(pending))


def settle_garbage_collector(young: int = 50_000) -> None:
    """Keep the cyclic garbage collector off the hot path of a long-running service.

    Everything built at start (modules, schemas, caches) is moved out of the collector's sight
    (`gc.freeze`), and young collections run after `young` allocations instead of 700: a rush
    allocates many short-lived messages, and with the defaults a large share of the worker's time
    went to scanning objects that live for the whole process (see BENCHMARKS.md). Cycles are still
    collected, just in larger steps.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(young, 20, 20)


async def bounded(coro: Coroutine[Any, Any, Any], what: str, seconds: float = 5.0) -> None:
    """Run a shutdown step for at most `seconds`; a client stuck reconnecting is left behind, not awaited.

    (`asyncio.wait_for` would wait for the step to acknowledge its cancellation, which a client
    reconnecting to a dead server may never do.)
    """
    task = asyncio.ensure_future(coro)
    done, _ = await asyncio.wait({task}, timeout=seconds)
    if not done:
        task.cancel()
        log.warning("gave up %s after %.0fs (NATS unreachable?)", what, seconds)
    elif not task.cancelled() and task.exception() is not None:
        log.warning("%s failed: %r", what, task.exception())
