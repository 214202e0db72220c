"""Prometheus metrics of the gateway: requests, latency, fast-path refusals, outcome waits, bookings in flight."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)


class Metrics:
    """One registry per gateway (so several can live in one process, as in tests)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "paspor_gateway_requests", "HTTP requests answered.", ["method", "route", "status"], registry=self.registry
        )
        self.latency = Histogram(
            "paspor_gateway_request_seconds",
            "Time to answer an HTTP request.",
            ["method", "route"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.fast_refusals = Counter(
            "paspor_gateway_fast_refusals",
            "Bookings refused from the read model, without entering the pipeline.",
            ["reason"],
            registry=self.registry,
        )
        self.outcome_waits = Counter(
            "paspor_gateway_outcome_waits",
            "Bookings whose outcome the gateway waited for.",
            ["result"],
            registry=self.registry,
        )
        self.bookings_in_flight = Gauge(
            "paspor_gateway_bookings_in_flight",
            "Booking requests received and not answered yet (the queue in front of the booking pipeline).",
            registry=self.registry,
        )
        self.admission_refusals = Counter(
            "paspor_gateway_admission_refusals",
            "Booking attempts refused 429 because their account's or address's budget was spent (fleet-wide).",
            ["kind"],
            registry=self.registry,
        )
        self.admission_leases = Counter(
            "paspor_gateway_admission_leases",
            "Allowance taken from a budget's counter: the shared bucket, or this replica's own.",
            ["kind", "counter"],
            registry=self.registry,
        )
        self.admission_fallbacks = Counter(
            "paspor_gateway_admission_fallbacks",
            "Leases counted on this replica alone because the shared admission bucket did not answer in time.",
            registry=self.registry,
        )
        self.admission_shared = Gauge(
            "paspor_gateway_admission_shared",
            "1 while the shared admission bucket answers, 0 while this replica counts on its own.",
            registry=self.registry,
        )
        self.read_model_entries = Gauge(
            "paspor_gateway_read_model_entries", "Sessions in the local availability view.", registry=self.registry
        )

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        self.requests.labels(method, route, str(status)).inc()
        self.latency.labels(method, route).observe(seconds)

    def exposition(self) -> bytes:
        return generate_latest(self.registry)
