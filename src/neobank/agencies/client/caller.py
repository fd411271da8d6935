"""One agency's call pipeline: breaker, rate limiter, timeout, HTTP, retries (tenacity).

An attempt asks the breaker for leave (``CircuitOpen`` if refused: nothing is sent), waits for
its slot from the AIMD limiter, then posts within ``timeout_ms``. Its answer decides:
2xx is returned; a 429 slows the limiter and is retried after its Retry-After; 5xx, timeouts
and connection errors count against the breaker and are retried with jittered exponential
backoff; any other 4xx is ``AgencyRejected`` at once. Every agency call is safe to repeat
(identity and guarantee are pure, the bureau counts an inquiry key once, the clearing house
delivers a reference once), which is what makes retrying POSTs correct.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from email.utils import parsedate_to_datetime
from typing import Any

import httpx
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception,
    stop_after_attempt,
    wait_random_exponential,
)

from neobank.agencies.client.aimd import AimdLimiter
from neobank.agencies.client.breaker import CircuitBreaker, CircuitState, Permit
from neobank.agencies.client.errors import (
    AgencyRejected,
    AgencyThrottled,
    AgencyUnavailable,
    CircuitOpen,
    InquiryKeyConflict,
)
from neobank.agencies.client.metrics import (
    AGENCY_CIRCUIT_STATE,
    AGENCY_OUTCOMES,
    AGENCY_RATE_PER_S,
    AGENCY_SECONDS,
    CIRCUIT_STATE_VALUES,
)
from neobank.agencies.client.policy import AgencyPolicy

__all__ = ["AgencyCaller"]

# How much of an agency's own explanation a rejection carries (it may list every field).
REJECTION_DETAIL_CHARS_MAX = 300
# Problem codes the agencies answer that have an error of their own on our side.
_REJECTIONS: dict[str, type[AgencyRejected]] = {"inquiry_key_conflict": InquiryKeyConflict}


class _AgencyThrottled429(AgencyThrottled):
    """The agency itself said 429 (worth retrying), as opposed to our limiter's refusal."""


class AgencyCaller:
    def __init__(
        self,
        agency: str,
        http: httpx.AsyncClient,
        policy: AgencyPolicy,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.agency = agency
        self._http = http
        self._policy = policy
        self._clock = clock
        self._sleep = sleep
        circuit_gauge = AGENCY_CIRCUIT_STATE.labels(agency)
        rate_gauge = AGENCY_RATE_PER_S.labels(agency)
        self.breaker = CircuitBreaker(
            agency,
            policy.breaker,
            clock,
            on_change=lambda state: circuit_gauge.set(CIRCUIT_STATE_VALUES[state]),
        )
        self.limiter = AimdLimiter(agency, policy.rate, clock, sleep, on_change=rate_gauge.set)
        circuit_gauge.set(CIRCUIT_STATE_VALUES[CircuitState.CLOSED])
        rate_gauge.set(self.limiter.rate_per_s)
        self._backoff = wait_random_exponential(
            multiplier=policy.backoff_initial_ms / 1000, max=policy.backoff_max_ms / 1000
        )
        self._timeout_s = policy.timeout_ms / 1000

    async def post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        """POST ``body`` as JSON and return the agency's JSON answer, or raise an
        ``AgencyError``."""
        retrying = AsyncRetrying(
            retry=retry_if_exception(self._retryable),
            stop=stop_after_attempt(self._policy.attempts),
            wait=self._wait,
            sleep=self._sleep,
            reraise=True,
        )
        answer: dict[str, Any] = await retrying(self._attempt, path, body)
        return answer

    def _retryable(self, exc: BaseException) -> bool:
        if isinstance(exc, _AgencyThrottled429):
            return exc.retry_after_s * 1000 <= self._policy.retry_after_max_ms
        return isinstance(exc, AgencyUnavailable)

    def _wait(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, _AgencyThrottled429):
            return exc.retry_after_s
        return float(self._backoff(state))

    async def _attempt(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        try:
            permit = self.breaker.acquire()
        except CircuitOpen:
            AGENCY_OUTCOMES.labels(self.agency, "circuit_open").inc()
            raise
        try:
            sent_at = await self.limiter.acquire()
        except AgencyThrottled:
            AGENCY_OUTCOMES.labels(self.agency, "shed").inc()
            self.breaker.release(permit)
            raise
        except BaseException:  # cancelled while waiting: the probe (if it was one) is free
            self.breaker.release(permit)
            raise
        response = await self._send(path, body, permit)
        return self._answer(response, permit, sent_at)

    async def _send(self, path: str, body: dict[str, Any], permit: Permit) -> httpx.Response:
        """One POST within the attempt's deadline: ``asyncio.timeout`` bounds the whole
        exchange (httpx's own timeouts are per phase, and an in-process ASGI transport has
        none)."""
        started = self._clock()
        try:
            async with asyncio.timeout(self._timeout_s):
                return await self._http.post(path, json=body, timeout=self._timeout_s)
        except (TimeoutError, httpx.TimeoutException) as exc:
            self._failed(permit, "timeout")
            detail = f"The {self.agency} agency did not answer within {self._policy.timeout_ms} ms"
            raise AgencyUnavailable(self.agency, detail) from exc
        except httpx.TransportError as exc:
            self._failed(permit, "error")
            raise AgencyUnavailable(self.agency, f"Cannot reach the {self.agency} agency") from exc
        except BaseException:  # cancelled by our caller: the outcome says nothing of the agency
            self.breaker.release(permit)
            raise
        finally:
            AGENCY_SECONDS.labels(self.agency).observe(self._clock() - started)

    def _failed(self, permit: Permit, outcome: str) -> None:
        AGENCY_OUTCOMES.labels(self.agency, outcome).inc()
        self.breaker.record(permit, failed=True)

    def _answer(self, response: httpx.Response, permit: Permit, sent_at: float) -> dict[str, Any]:
        status = response.status_code
        if status >= 500:
            self._failed(permit, "error")
            raise AgencyUnavailable(self.agency, f"The {self.agency} agency answered {status}")
        # Any answer below 500 means the agency is up, whatever it thinks of our request.
        self.breaker.record(permit, failed=False)
        if status == 429:
            AGENCY_OUTCOMES.labels(self.agency, "throttled").inc()
            self.limiter.throttled_at(sent_at)
            retry_after_s = _retry_after_s(response, self._policy.backoff_initial_ms / 1000)
            detail = f"The {self.agency} agency is over its capacity"
            raise _AgencyThrottled429(self.agency, detail, retry_after_s=retry_after_s)
        if status >= 400:
            AGENCY_OUTCOMES.labels(self.agency, "rejected").inc()
            raise _rejection(self.agency, response)
        AGENCY_OUTCOMES.labels(self.agency, "ok").inc()
        try:
            answer = response.json()
        except ValueError as exc:
            raise AgencyUnavailable(self.agency, "The agency's answer is not JSON") from exc
        if not isinstance(answer, dict):
            raise AgencyUnavailable(self.agency, "The agency's answer is not a JSON object")
        return answer


def _retry_after_s(response: httpx.Response, default_s: float) -> float:
    """Retry-After in seconds (RFC 9110 10.2.3: delay-seconds or an HTTP date)."""
    value = response.headers.get("retry-after")
    if value is None:
        return default_s
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return default_s
    return max(0.0, when.timestamp() - time.time())


def _rejection(agency: str, response: httpx.Response) -> AgencyRejected:
    agency_code = "invalid_request"
    detail = f"The {agency} agency refused the request ({response.status_code})"
    try:
        problem = response.json()
    except ValueError:
        problem = None
    if isinstance(problem, dict):
        agency_code = str(problem.get("code") or agency_code)
        detail = f"{detail}: {problem.get('detail') or problem.get('title') or agency_code}"
    error = _REJECTIONS.get(agency_code, AgencyRejected)
    detail = detail[:REJECTION_DETAIL_CHARS_MAX]
    return error(agency, detail, agency_status=response.status_code, agency_code=agency_code)
