"""Latency as a distribution: lognormal with a given mean, so most answers come near the
mean and a few come much later, as real agencies answer.

Shape: ``sigma`` (the log-space standard deviation) is 0.5, so the median is about 0.88x the
mean, p90 about 1.67x, p99 about 2.8x; ``mu`` is chosen so that the mean is ``mean_ms``
(E[X] = exp(mu + sigma**2 / 2)). One draw is capped at ``latency_draw_max_factor`` x the mean
(the cap moves the mean by far less than a thousandth).
"""

from __future__ import annotations

import math
import random

__all__ = ["latency_sigma", "sample_latency_ms"]

latency_sigma = 0.5
latency_draw_max_factor = 20.0


def sample_latency_ms(mean_ms: float, rng: random.Random, sigma: float = latency_sigma) -> float:
    """One latency in milliseconds whose expected value is ``mean_ms``."""
    if mean_ms <= 0:
        return 0.0
    mu = math.log(mean_ms) - sigma * sigma / 2
    return min(rng.lognormvariate(mu, sigma), mean_ms * latency_draw_max_factor)
