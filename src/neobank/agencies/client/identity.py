"""The identity agency's client: is this ID card (name, resident id, issue date) genuine?"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from pydantic import TypeAdapter

from neobank.agencies.client.answers import parse_answer
from neobank.agencies.client.caller import AgencyCaller

__all__ = ["IdentityClient", "IdentityResult"]


@dataclass(frozen=True, slots=True)
class IdentityResult:
    """``reason`` says why a card is not verified (``invalid_resident_id``,
    ``reported_stolen``, ``invalid_issue_date``); ``None`` when it is."""

    verified: bool
    reason: str | None
    verification_id: str


_result = TypeAdapter(IdentityResult)


class IdentityClient:
    def __init__(self, caller: AgencyCaller) -> None:
        self.caller = caller

    async def verify(self, *, name: str, resident_id: str, issue_date: date) -> IdentityResult:
        """The agency's verdict (a card it refuses is an answer, not an error)."""
        body = {"name": name, "resident_id": resident_id, "issue_date": issue_date.isoformat()}
        answer = await self.caller.post("/identity/verifications", body)
        return parse_answer(self.caller.agency, _result, answer)
