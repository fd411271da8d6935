"""How hard the bank may lean on each agency: timeouts, retries, breaker and rate limits.

The defaults below are named and explained here, in one place, so an operator tuning one
agency sees every knob and the reason for its value.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from neobank.agencies.simulator.config import AGENCIES, AgencyName

__all__ = [
    "AgencyPolicy",
    "BreakerPolicy",
    "RateLimitPolicy",
    "default_policies",
    "merged_policies",
]

# One attempt's deadline. The identity agency answers in ~300 ms on a bad day (lognormal,
# p99 ~2.8x the mean); 2 s leaves that tail alone and still frees a worker quickly when the
# agency hangs.
TIMEOUT_MS = 2_000
# Attempts per call (the first and three retries). With a 30% error rate 0.3**4 = 0.8% of
# calls still fail; more attempts would mostly multiply load on an agency that is down, which
# the breaker and the job queue's own retries handle better.
ATTEMPTS = 4
# Exponential backoff with full jitter (uniform in [0, min(max, initial * 2**n)]): spreads
# the retries of many callers that failed together instead of having them return in step.
BACKOFF_INITIAL_MS = 100
BACKOFF_MAX_MS = 2_000
# A 429's Retry-After is honoured up to this; beyond it we give up the call (AgencyThrottled)
# and let the job be retried later rather than hold a worker.
RETRY_AFTER_MAX_MS = 5_000

# The breaker judges the last BREAKER_WINDOW attempts (at least BREAKER_CALLS_MIN of them) and
# opens at BREAKER_FAILURE_RATE failures. 80% is far above what retries absorb (a 30% error
# rate opens it with odds of ~5e-6 per window) and an agency that is down gets there after
# ten attempts, two or three calls.
BREAKER_WINDOW = 20
BREAKER_CALLS_MIN = 10
BREAKER_FAILURE_RATE = 0.8
# Open for 5 s, then let probes through: long enough not to keep poking an agency that is
# down, short enough that a blip costs few seconds of onboarding.
BREAKER_OPEN_MS = 5_000
# Half-open lets this many attempts through; it closes unless (nearly) all of them fail, by
# the same failure rate, so one unlucky probe on a flaky agency does not re-open it.
BREAKER_HALF_OPEN_PROBES = 3
# Half-open, with the probes out: callers come back after this, not after a whole open
# period. The probes' answers decide within one attempt's time (they are ordinary attempts,
# ~0.3-0.4 s at the agencies' usual latency), so waiting the full 5 s made a recovered agency
# wait up to two open periods for its backlog (measured: 1.5-11.6 s catch-up after an outage).
BREAKER_HALF_OPEN_WAIT_MS = 1_000

# AIMD rates, requests per second. Start at 20/s and double every second while callers queue
# (slow start) until the first 429: an agency capped at 50/s is found in ~2 s, and one that
# takes much more in a few seconds more. From then on add RATE_INCREASE_PER_S each second
# while callers queue and multiply by RATE_DECREASE_FACTOR on a 429 (once per round: 429s
# for requests sent before the last decrease are the same news). 0.8 is gentle enough that
# the rate swings close to the cap (the agency's burst allowance banks the dips), and +2/s
# per second makes the swings slow, so 429s are rare: against identity at 50/s, 300 ms, over
# 15 s, measured 49.9/s with 0.6% of requests throttled from one process, 1.7% from two and
# 5.7% from four (each process runs its own limiter, so their increases add up; +5/s and
# 0.85 gave 1.3% / 4.3% / 13.6%). The price: a cap that rises is found at +2/s per second
# per process. The floor keeps a trickle going to find out the agency is back; the ceiling
# is a sanity cap on what one process sends to one agency.
RATE_START_PER_S = 20.0
RATE_MIN_PER_S = 1.0
RATE_MAX_PER_S = 1_000.0
RATE_INCREASE_PER_S = 2.0
RATE_DECREASE_FACTOR = 0.8
# In slow start the rate doubles every second of saturation, so at the first 429 it may be
# twice what the agency takes (more if the agency's burst allowance hid the limit): halve it.
RATE_SLOW_START_DOUBLING_MS = 1_000
RATE_SLOW_START_DECREASE_FACTOR = 0.5
# A caller waits at most this long for its turn; longer means the bank is asking far more
# than the agency takes, and the call fails at once (AgencyThrottled) instead of piling up.
RATE_QUEUE_WAIT_MAX_MS = 10_000


@dataclass(frozen=True, slots=True)
class BreakerPolicy:
    window: int = BREAKER_WINDOW
    calls_min: int = BREAKER_CALLS_MIN
    failure_rate: float = BREAKER_FAILURE_RATE
    open_ms: int = BREAKER_OPEN_MS
    half_open_probes: int = BREAKER_HALF_OPEN_PROBES
    half_open_wait_ms: int = BREAKER_HALF_OPEN_WAIT_MS


@dataclass(frozen=True, slots=True)
class RateLimitPolicy:
    start_rate_per_s: float = RATE_START_PER_S
    min_rate_per_s: float = RATE_MIN_PER_S
    max_rate_per_s: float = RATE_MAX_PER_S
    increase_per_s: float = RATE_INCREASE_PER_S
    decrease_factor: float = RATE_DECREASE_FACTOR
    slow_start_doubling_ms: int = RATE_SLOW_START_DOUBLING_MS
    slow_start_decrease_factor: float = RATE_SLOW_START_DECREASE_FACTOR
    queue_wait_max_ms: int = RATE_QUEUE_WAIT_MAX_MS


@dataclass(frozen=True, slots=True)
class AgencyPolicy:
    timeout_ms: int = TIMEOUT_MS
    attempts: int = ATTEMPTS
    backoff_initial_ms: int = BACKOFF_INITIAL_MS
    backoff_max_ms: int = BACKOFF_MAX_MS
    retry_after_max_ms: int = RETRY_AFTER_MAX_MS
    breaker: BreakerPolicy = field(default_factory=BreakerPolicy)
    rate: RateLimitPolicy = field(default_factory=RateLimitPolicy)


def default_policies() -> dict[AgencyName, AgencyPolicy]:
    """The same defaults for every agency: none of the four warrants different ones yet."""
    return {agency: AgencyPolicy() for agency in AGENCIES}


def merged_policies(
    overrides: dict[AgencyName, AgencyPolicy] | None,
) -> dict[AgencyName, AgencyPolicy]:
    """The defaults with ``overrides`` taking the place of the agencies they name."""
    return {**default_policies(), **(overrides or {})}
