"""The admission rate over its sliding window, and the ETA and poll interval drawn from it."""

from __future__ import annotations

from neobank.onboarding.waiting_room.rate import (
    ADMISSION_RATE_ASSUMED_PER_S,
    ETA_MAX_S,
    POLL_AFTER_MAX_MS,
    POLL_AFTER_MIN_MS,
    RATE_SAMPLES_MIN,
    AdmissionCounter,
    RateSample,
    eta_seconds,
    poll_after_ms,
)

T0 = 1_800_000_000.0


def test_the_rate_is_the_window_s_admissions_over_their_span() -> None:
    counter = AdmissionCounter(window_s=60)
    for second in range(10):
        counter.add(T0 + second, 3)
    sample = counter.sample(T0 + 10)
    assert (sample.count, sample.span_s) == (30, 10.0)
    assert sample.per_s == sample.measured_per_s == 3.0
    # Sixty seconds on, the first admissions have left the window.
    later = counter.sample(T0 + 65)
    assert (later.count, later.span_s) == (12, 59.0)  # from T0 + 6 on
    assert counter.sample(T0 + 200).count == 0


def test_too_few_admissions_fall_back_to_the_assumed_rate() -> None:
    few = RateSample(count=RATE_SAMPLES_MIN - 1, span_s=1.0)
    assert few.measured_per_s == RATE_SAMPLES_MIN - 1
    assert few.per_s == ADMISSION_RATE_ASSUMED_PER_S
    assert RateSample(0, 60.0).measured_per_s == 0.0


def test_eta_and_poll_interval() -> None:
    rate = RateSample(count=100, span_s=10.0)  # 10 per second
    assert [eta_seconds(p, rate) for p in (0, 1, 10, 11, 1_000)] == [0, 1, 1, 2, 100]
    assert eta_seconds(10**12, RateSample(5, 60.0)) == ETA_MAX_S
    assert poll_after_ms(0) == POLL_AFTER_MIN_MS
    assert poll_after_ms(20) == 10_000
    assert poll_after_ms(3_600) == POLL_AFTER_MAX_MS
