"""The credit bureau's client: a score and attributes, one hard inquiry per inquiry key."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import TypeAdapter

from neobank.agencies.client.answers import parse_answer
from neobank.agencies.client.caller import AgencyCaller

__all__ = ["BureauClient", "BureauReport"]


@dataclass(frozen=True, slots=True)
class BureauReport:
    inquiry_key: str
    score: int
    grade: int
    open_loans: int
    delinquencies: int
    total_debt: int


_report = TypeAdapter(BureauReport)


class BureauClient:
    def __init__(self, caller: AgencyCaller) -> None:
        self.caller = caller

    async def inquire(
        self, *, inquiry_key: str, resident_id: str, name: str | None = None
    ) -> BureauReport:
        """The person's report. Send one stable ``inquiry_key`` per application: the bureau
        counts a hard inquiry once per key, so retries cost the person nothing; a key reused
        for another resident id is ``InquiryKeyConflict``."""
        body: dict[str, Any] = {"inquiry_key": inquiry_key, "resident_id": resident_id}
        if name is not None:
            body["name"] = name
        answer = await self.caller.post("/bureau/inquiries", body)
        return parse_answer(self.caller.agency, _report, answer)
