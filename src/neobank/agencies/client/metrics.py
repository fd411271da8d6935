"""Prometheus metrics of the agency calls: latency, outcomes, circuit state, AIMD rate."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

from neobank.agencies.client.breaker import CircuitState

__all__ = [
    "AGENCY_CIRCUIT_STATE",
    "AGENCY_OUTCOMES",
    "AGENCY_RATE_PER_S",
    "AGENCY_SECONDS",
    "CIRCUIT_STATE_VALUES",
    "OUTCOMES",
]

# Outcomes of one attempt: ok (2xx), rejected (another 4xx), throttled (429), error (5xx or
# connection error), timeout; and, for attempts never sent, circuit_open (the breaker refused)
# and shed (the rate limiter's queue was too long to wait in).
OUTCOMES = ("ok", "rejected", "throttled", "error", "timeout", "circuit_open", "shed")

AGENCY_SECONDS = Histogram(
    "neobank_agency_request_seconds",
    "Time an agency took to answer one attempt (after the rate limiter's wait)",
    ["agency"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8),
)
AGENCY_OUTCOMES = Counter(
    "neobank_agency_attempts_total", "Attempts to call an agency, by outcome", ["agency", "outcome"]
)
CIRCUIT_STATE_VALUES = {CircuitState.CLOSED: 0, CircuitState.HALF_OPEN: 1, CircuitState.OPEN: 2}
AGENCY_CIRCUIT_STATE = Gauge(
    "neobank_agency_circuit_state",
    "Circuit breaker state per agency: 0 closed, 1 half-open, 2 open (worst process)",
    ["agency"],
    multiprocess_mode="livemax",
)
AGENCY_RATE_PER_S = Gauge(
    "neobank_agency_rate_limit_per_s",
    "Requests per second the AIMD limiter allows, summed over the bank's processes",
    ["agency"],
    multiprocess_mode="livesum",
)
