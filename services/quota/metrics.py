"""Prometheus metrics of a quota worker: which partitions it holds (and at which epoch), leases lost,
cancellations that found nothing to release. Served on `PASPOR_QUOTA_METRICS_PORT` (0: not served)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, generate_latest, start_http_server

STATES = ("held", "waiting")


class QuotaMetrics:
    """One registry per worker (several can live in one process, as in tests)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.lease = Gauge(
            "paspor_quota_partition_lease",
            "1 for the state each configured partition's lease is in here: held (deciding) or waiting.",
            ["partition", "state"],
            registry=self.registry,
        )
        self.epoch = Gauge(
            "paspor_quota_partition_epoch",
            "The epoch at which this worker owns the partition (0 while it waits for the lease).",
            ["partition"],
            registry=self.registry,
        )
        self.leases_lost = Counter(
            "paspor_quota_leases_lost",
            "Leases this worker held and lost (not renewed in time).",
            registry=self.registry,
        )
        self.unmatched = Gauge(
            "paspor_quota_releases_unmatched",
            "Cancellations that found no slot to release, in the cache or the store (recorded; look at them).",
            registry=self.registry,
        )
        self._states: dict[int, str] = {}

    def lease_changed(self, partition: int, state: str, epoch: int) -> None:
        """A partition's lease is now `state` (held at `epoch`, or waiting)."""
        label = f"{partition:02d}"
        if state == "waiting" and self._states.get(partition) == "held":
            self.leases_lost.inc()
        self._states[partition] = state
        for each in STATES:
            self.lease.labels(label, each).set(1 if each == state else 0)
        self.epoch.labels(label).set(epoch)

    def serve(self, port: int) -> None:
        """Expose the metrics over HTTP (a thread of prometheus_client)."""
        start_http_server(port, registry=self.registry)

    def exposition(self) -> bytes:
        return generate_latest(self.registry)
