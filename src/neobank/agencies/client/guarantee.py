"""The guarantee insurer's client: will it cover this loan, and at what yearly fee?"""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import TypeAdapter

from neobank.agencies.client.answers import parse_answer
from neobank.agencies.client.caller import AgencyCaller

__all__ = ["GuaranteeClient", "GuaranteeQuote"]


@dataclass(frozen=True, slots=True)
class GuaranteeQuote:
    """``reason`` says why a loan is not covered (``score_too_low``, ``amount_too_large``,
    ``unknown_product``); fee and coverage are in basis points when it is."""

    quote_id: str
    covered: bool
    reason: str | None
    fee_rate_bps: int | None
    coverage_bps: int | None


_quote = TypeAdapter(GuaranteeQuote)


class GuaranteeClient:
    def __init__(self, caller: AgencyCaller) -> None:
        self.caller = caller

    async def quote(self, *, score: int, amount: int, product: str) -> GuaranteeQuote:
        body = {"score": score, "amount": amount, "product": product}
        answer = await self.caller.post("/guarantee/quotes", body)
        return parse_answer(self.caller.agency, _quote, answer)
