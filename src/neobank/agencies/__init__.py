"""Outside agencies the bank depends on, simulated: the identity agency, the credit bureau, the
guarantee insurer and the clearing house (`neobank agencies serve`).

The rules of each agency are plain functions (``identity``, ``bureau``, ``guarantee``,
``clearing``); ``simulator`` puts them behind one FastAPI app with latency, errors and capacity
knobs that can be changed at run time.
"""

from __future__ import annotations

from neobank.agencies.simulator.app import create_simulator_app
from neobank.agencies.simulator.config import AGENCIES, AgencyKnobs, SimulatorConfig

__all__ = ["AGENCIES", "AgencyKnobs", "SimulatorConfig", "create_simulator_app"]
