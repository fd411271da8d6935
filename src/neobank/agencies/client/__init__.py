"""The bank's side of the outside agencies: typed async clients with timeouts, retries, a
circuit breaker and an adaptive (AIMD) rate limiter per agency.

``build_agency_clients(url)`` gives the four clients; without a URL the simulators run in
this process. Errors are in ``errors`` (``AgencyError`` and its subclasses), defaults and
their reasons in ``policy``.
"""

from __future__ import annotations

from neobank.agencies.client.aimd import AimdLimiter
from neobank.agencies.client.breaker import CircuitBreaker, CircuitState
from neobank.agencies.client.bureau import BureauClient, BureauReport
from neobank.agencies.client.caller import AgencyCaller
from neobank.agencies.client.clearing import ClearingClient, ClearingCredit
from neobank.agencies.client.errors import (
    AgencyError,
    AgencyRejected,
    AgencyThrottled,
    AgencyUnavailable,
    CircuitOpen,
    InquiryKeyConflict,
)
from neobank.agencies.client.factory import AgencyClients, build_agency_clients
from neobank.agencies.client.guarantee import GuaranteeClient, GuaranteeQuote
from neobank.agencies.client.identity import IdentityClient, IdentityResult
from neobank.agencies.client.policy import (
    AgencyPolicy,
    BreakerPolicy,
    RateLimitPolicy,
    default_policies,
)
from neobank.agencies.simulator.config import AgencyName

__all__ = [
    "AgencyCaller",
    "AgencyClients",
    "AgencyError",
    "AgencyName",
    "AgencyPolicy",
    "AgencyRejected",
    "AgencyThrottled",
    "AgencyUnavailable",
    "AimdLimiter",
    "BreakerPolicy",
    "BureauClient",
    "BureauReport",
    "CircuitBreaker",
    "CircuitOpen",
    "CircuitState",
    "ClearingClient",
    "ClearingCredit",
    "GuaranteeClient",
    "GuaranteeQuote",
    "IdentityClient",
    "IdentityResult",
    "InquiryKeyConflict",
    "RateLimitPolicy",
    "build_agency_clients",
    "default_policies",
]
