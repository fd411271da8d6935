"""Prometheus metrics, served at /metrics."""

from __future__ import annotations

import os

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

__all__ = [
    "HTTP_REQUESTS",
    "HTTP_SECONDS",
    "LEDGER_BATCHES",
    "LEDGER_BATCH_TRANSFERS",
    "LEDGER_COMMIT_SECONDS",
    "LEDGER_FORECAST_BATCHES",
    "LEDGER_QUEUE_DEPTH",
    "LEDGER_REJECTED",
    "render_metrics",
]

HTTP_REQUESTS = Counter(
    "neobank_http_requests_total", "HTTP requests answered", ["method", "route", "status"]
)
HTTP_SECONDS = Histogram(
    "neobank_http_request_seconds",
    "HTTP request latency",
    ["method", "route"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
LEDGER_BATCH_TRANSFERS = Histogram(
    "neobank_ledger_batch_chains",
    "Chains of transfers applied per ledger batch (one database transaction)",
    buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384),
)
LEDGER_COMMIT_SECONDS = Histogram(
    "neobank_ledger_commit_seconds",
    "Time to apply and commit one ledger batch",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
)
LEDGER_BATCHES = Counter(
    "neobank_ledger_batches_total",
    "Ledger batches committed, by route: one_statement (a forecast batch of new keys and "
    "transfer ids, one round trip), forecast (in a transaction, accounts locked last) or "
    "locked (accounts locked first)",
    ["route"],
)
LEDGER_FORECAST_BATCHES = Counter(
    "neobank_ledger_forecast_batches_total",
    "Ledger batches applied against the forecast states: hit (committed as forecast) or miss "
    "(an account differed under the lock; the batch ran again locked)",
    ["result"],
)
LEDGER_QUEUE_DEPTH = Gauge(
    "neobank_ledger_queue_depth",
    "Submissions waiting for the engine",
    multiprocess_mode="livesum",
)
LEDGER_REJECTED = Counter("neobank_ledger_rejected_total", "Submissions refused: queue full")


def render_metrics() -> bytes:
    """This process's metrics, or, under `serve --workers N` (PROMETHEUS_MULTIPROC_DIR set by
    the CLI), the sum over every worker process."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry)
    return generate_latest()
