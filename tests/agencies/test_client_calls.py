"""The agency clients end to end against the real simulator app, in-process: answers, errors,
retries, timeouts and the circuit breaker."""

from __future__ import annotations

import asyncio
import time
from datetime import date

import pytest

from neobank.agencies import AgencyKnobs, SimulatorConfig
from neobank.agencies.client import (
    AgencyPolicy,
    AgencyRejected,
    AgencyThrottled,
    AgencyUnavailable,
    BreakerPolicy,
    CircuitOpen,
    InquiryKeyConflict,
    build_agency_clients,
)
from neobank.agencies.client.policy import RATE_START_PER_S
from tests.agencies.client_kit import FAST, FAST_CONFIG, Bench, attempts_counted, bench
from tests.agencies.ids import resident_id

ALICE = resident_id("900101123456")
BOB = resident_id("850505234567")
ISSUED = date(2015, 5, 1)
# Short waits so that the tests spend their time on the agency, not on backoff.
QUICK = AgencyPolicy(backoff_initial_ms=10, backoff_max_ms=50)


async def _verify(b: Bench, rid: str = ALICE) -> bool:
    result = await b.clients.identity.verify(name="Kim", resident_id=rid, issue_date=ISSUED)
    return result.verified


async def test_each_client_gets_its_agencys_answer() -> None:
    async with bench() as b:
        identity = b.clients.identity
        ok = await identity.verify(name="Kim", resident_id=ALICE, issue_date=ISSUED)
        assert ok.verified and ok.reason is None and ok.verification_id.startswith("idv_")
        future = await identity.verify(name="Kim", resident_id=ALICE, issue_date=date(2999, 1, 1))
        assert (future.verified, future.reason) == (False, "invalid_issue_date")

        credit = await b.clients.clearing.send_credit(
            bank_code="088",
            account_number="110-123-456789",
            amount=1,
            currency="KRW",
            memo="NEOBANK 4821",
            reference="onb_1:credit",
        )
        again = await b.clients.clearing.send_credit(
            bank_code="088",
            account_number="110-123-456789",
            amount=1,
            currency="KRW",
            memo="NEOBANK 4821",
            reference="onb_1:credit",
        )
        assert again == credit and credit.credit_id.startswith("clr_")
        listed = await b.sim.get("/_sim/clearing/credits?account_number=110-123-456789")
        assert [c["memo"] for c in listed.json()["items"]] == ["NEOBANK 4821"]

        report = await b.clients.bureau.inquire(inquiry_key="app-1", resident_id=ALICE)
        assert 300 <= report.score <= 950 and report.inquiry_key == "app-1"
        assert await b.clients.bureau.inquire(inquiry_key="app-1", resident_id=ALICE) == report
        assert (await b.stats("bureau"))["distinct_inquiry_keys"] == 1

        guarantee = b.clients.guarantee
        quote = await guarantee.quote(score=870, amount=10_000_000, product="personal_loan")
        assert (quote.covered, quote.fee_rate_bps, quote.coverage_bps) == (True, 50, 9_000)
        assert b.clients.circuit_states() == dict.fromkeys(
            ("identity", "bureau", "guarantee", "clearing"), "closed"
        )


async def test_other_4xx_are_rejections_and_never_retried() -> None:
    async with bench() as b:
        rejected_before = attempts_counted("identity", "rejected")
        with pytest.raises(AgencyRejected) as malformed:
            await b.clients.identity.verify(name="Kim", resident_id="12", issue_date=ISSUED)
        assert (malformed.value.agency_status, malformed.value.code) == (422, "agency_rejected")
        assert (await b.stats("identity"))["requests"] == 1
        assert attempts_counted("identity", "rejected") == rejected_before + 1

        await b.clients.bureau.inquire(inquiry_key="app-7", resident_id=ALICE)
        with pytest.raises(InquiryKeyConflict) as conflict:
            await b.clients.bureau.inquire(inquiry_key="app-7", resident_id=BOB)
        assert conflict.value.code == "inquiry_key_conflict"
        assert conflict.value.problem()["agency"] == "bureau"
        assert (await b.stats("bureau"))["requests"] == 2
        assert b.clients.circuit_states()["bureau"] == "closed"  # the agency is fine


async def test_retries_recover_from_a_30_percent_error_rate() -> None:
    flaky = FAST.model_copy(update={"error_rate": 0.3})
    calls = 200
    async with bench(SimulatorConfig(identity=flaky)) as b:
        outcomes = await asyncio.gather(*(_verify(b) for _ in range(calls)), return_exceptions=True)
        failed = [o for o in outcomes if isinstance(o, BaseException)]
        stats = await b.stats("identity")
        # 0.3**4: 0.8% of calls fail all four attempts (1.6 expected of 200).
        assert len(failed) <= 6, failed
        assert all(isinstance(f, AgencyUnavailable) for f in failed)
        assert stats["ok"] == calls - len(failed)
        assert stats["errors"] >= 0.2 * stats["requests"]  # the errors did happen, were retried
        assert b.clients.circuit_states()["identity"] == "closed"


async def test_a_429_is_retried_after_its_retry_after_unless_that_is_too_long() -> None:
    one_per_s = FAST.model_copy(update={"capacity_rps": 1})
    async with bench(SimulatorConfig(identity=one_per_s)) as b:
        limiter = b.clients.identity.caller.limiter
        assert await _verify(b)  # the bucket's one token
        started = time.monotonic()
        assert await _verify(b)  # 429, Retry-After: 1, then through
        assert time.monotonic() - started >= 1.0
        assert (await b.stats("identity"))["throttled"] == 1
        assert limiter.throttled == 1 and limiter.rate_per_s < RATE_START_PER_S

        await b.knobs("identity", capacity_rps=0.001)  # the next token in ~17 minutes
        started = time.monotonic()
        with pytest.raises(AgencyThrottled) as throttled:
            await _verify(b)
        assert time.monotonic() - started < 0.5  # not worth waiting for: given up at once
        assert throttled.value.retry_after_s > 60
        assert (await b.stats("identity"))["requests"] == 4


async def test_a_timeout_is_agency_unavailable() -> None:
    slow = FAST.model_copy(update={"latency_ms": 3_000})
    policy = AgencyPolicy(timeout_ms=100, attempts=2, backoff_initial_ms=10)
    async with bench(SimulatorConfig(identity=slow), {"identity": policy}) as b:
        timeouts_before = attempts_counted("identity", "timeout")
        started = time.monotonic()
        with pytest.raises(AgencyUnavailable) as timed_out:
            await _verify(b)
        assert time.monotonic() - started < 1.0
        assert "100 ms" in timed_out.value.detail
        assert (await b.stats("identity"))["requests"] == 2
        assert attempts_counted("identity", "timeout") == timeouts_before + 2


async def test_the_breaker_opens_fails_fast_and_closes_after_the_agency_recovers() -> None:
    open_ms = 300
    policy = AgencyPolicy(
        backoff_initial_ms=10, backoff_max_ms=50, breaker=BreakerPolicy(open_ms=open_ms)
    )
    async with bench(policies={"identity": policy}) as b:
        await b.knobs("identity", error_rate=1)
        kinds = []
        for _ in range(3):
            with pytest.raises((AgencyUnavailable, CircuitOpen)) as failed:
                await _verify(b)
            kinds.append(type(failed.value).__name__)
            if isinstance(failed.value, CircuitOpen):
                break
        # Four attempts per call: the tenth attempt opens it, the eleventh is refused.
        assert kinds == ["AgencyUnavailable", "AgencyUnavailable", "CircuitOpen"]
        assert b.clients.circuit_states()["identity"] == "open"
        sent = (await b.stats("identity"))["requests"]
        assert sent == 10

        started = time.monotonic()
        for _ in range(20):
            with pytest.raises(CircuitOpen) as refused:
                await _verify(b)
        assert time.monotonic() - started < 0.2
        assert 0 < refused.value.retry_after_s <= open_ms / 1000
        assert (await b.stats("identity"))["requests"] == sent  # nothing reached the agency

        await asyncio.sleep(open_ms / 1000)  # still down: the three probes fail, open again
        with pytest.raises(CircuitOpen):
            await _verify(b)
        assert (await b.stats("identity"))["requests"] == sent + 3
        assert b.clients.circuit_states()["identity"] == "open"

        await b.knobs("identity", error_rate=0)
        await asyncio.sleep(open_ms / 1000)
        assert await _verify(b)  # the first probe
        assert b.clients.circuit_states()["identity"] == "half_open"
        assert await _verify(b) and await _verify(b)
        assert b.clients.circuit_states()["identity"] == "closed"


async def test_an_agency_nobody_listens_on_is_unavailable() -> None:
    clients = build_agency_clients("http://127.0.0.1:9", policies={"identity": QUICK})
    try:
        with pytest.raises(AgencyUnavailable) as refused:
            await clients.identity.verify(name="Kim", resident_id=ALICE, issue_date=ISSUED)
        assert "Cannot reach" in refused.value.detail
        assert clients.simulator_app is None
    finally:
        await clients.aclose()


def test_simulator_settings_need_the_in_process_simulators() -> None:
    with pytest.raises(ValueError):
        build_agency_clients("http://agencies:8100", simulator_config=FAST_CONFIG)


async def test_without_a_url_the_simulators_run_in_process_with_the_defaults() -> None:
    clients = build_agency_clients(None, simulator_config=SimulatorConfig(identity=AgencyKnobs()))
    try:
        assert clients.simulator_app is not None
        assert {c.limiter.rate_per_s for c in clients.callers.values()} == {RATE_START_PER_S}
    finally:
        await clients.aclose()
