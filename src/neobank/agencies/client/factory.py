"""Build the bank's four agency clients, against a URL or the simulators in-process."""

from __future__ import annotations

from dataclasses import dataclass, field

import httpx
from fastapi import FastAPI

from neobank.agencies.client.bureau import BureauClient
from neobank.agencies.client.caller import AgencyCaller
from neobank.agencies.client.clearing import ClearingClient
from neobank.agencies.client.guarantee import GuaranteeClient
from neobank.agencies.client.identity import IdentityClient
from neobank.agencies.client.policy import AgencyPolicy, merged_policies
from neobank.agencies.simulator.app import create_simulator_app
from neobank.agencies.simulator.config import AgencyName, SimulatorConfig

__all__ = ["AgencyClients", "build_agency_clients"]

# Open connections to the agencies per process. Also a bound on attempts in flight: beyond
# it httpx queues them (within the attempt's timeout) rather than opening more sockets.
CONNECTIONS_MAX = 200
KEEPALIVE_CONNECTIONS_MAX = 50
IN_PROCESS_BASE_URL = "http://agencies.in-process"


@dataclass(slots=True)
class AgencyClients:
    identity: IdentityClient
    clearing: ClearingClient
    bureau: BureauClient
    guarantee: GuaranteeClient
    # The in-process simulators (None when the agencies are at a URL): mount it to read it.
    simulator_app: FastAPI | None
    http: httpx.AsyncClient = field(repr=False)

    @property
    def callers(self) -> dict[AgencyName, AgencyCaller]:
        return {
            "identity": self.identity.caller,
            "bureau": self.bureau.caller,
            "guarantee": self.guarantee.caller,
            "clearing": self.clearing.caller,
        }

    def circuit_states(self) -> dict[str, str]:
        """Each agency's breaker: ``closed``, ``half_open`` or ``open``."""
        return {agency: caller.breaker.state.value for agency, caller in self.callers.items()}

    async def aclose(self) -> None:
        await self.http.aclose()


def build_agency_clients(
    agencies_url: str | None,
    *,
    simulator_config: SimulatorConfig | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
    policies: dict[AgencyName, AgencyPolicy] | None = None,
    simulator_seed: int | None = None,
) -> AgencyClients:
    """Clients for the agencies at ``agencies_url``, or, without one, for simulators running in
    this process (``simulator_config`` / ``simulator_seed`` configure them) behind an ASGI
    transport. ``transport`` replaces the network (tests); ``policies`` replace the defaults
    of the agencies they name."""
    simulator_app: FastAPI | None = None
    if agencies_url is None:
        simulator_app = create_simulator_app(simulator_config, simulator_seed)
        transport = transport or httpx.ASGITransport(app=simulator_app)
        base_url = IN_PROCESS_BASE_URL
    elif simulator_config is not None or simulator_seed is not None:
        raise ValueError("simulator settings are for in-process simulators (no agencies_url)")
    else:
        base_url = agencies_url
    http = httpx.AsyncClient(
        base_url=base_url,
        transport=transport,
        limits=httpx.Limits(
            max_connections=CONNECTIONS_MAX, max_keepalive_connections=KEEPALIVE_CONNECTIONS_MAX
        ),
        headers={"User-Agent": "neobank-agency-client"},
    )
    chosen = merged_policies(policies)
    return AgencyClients(
        identity=IdentityClient(AgencyCaller("identity", http, chosen["identity"])),
        clearing=ClearingClient(AgencyCaller("clearing", http, chosen["clearing"])),
        bureau=BureauClient(AgencyCaller("bureau", http, chosen["bureau"])),
        guarantee=GuaranteeClient(AgencyCaller("guarantee", http, chosen["guarantee"])),
        simulator_app=simulator_app,
        http=http,
    )
