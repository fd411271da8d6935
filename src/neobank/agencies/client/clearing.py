"""The clearing house's client: credit an account at another bank (the 1-won check)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from pydantic import TypeAdapter

from neobank.agencies.client.answers import parse_answer
from neobank.agencies.client.caller import AgencyCaller

__all__ = ["ClearingClient", "ClearingCredit"]


@dataclass(frozen=True, slots=True)
class ClearingCredit:
    credit_id: str
    bank_code: str
    account_number: str
    amount: int
    currency: str
    memo: str
    reference: str | None
    delivered_at: datetime


_credit = TypeAdapter(ClearingCredit)


class ClearingClient:
    def __init__(self, caller: AgencyCaller) -> None:
        self.caller = caller

    async def send_credit(
        self,
        *,
        bank_code: str,
        account_number: str,
        amount: int,
        currency: str,
        memo: str,
        reference: str,
    ) -> ClearingCredit:
        """Deliver a credit; ``reference`` is the bank's idempotency anchor: the clearing house
        delivers once per reference, so a retry after a timeout cannot pay twice."""
        body = {
            "bank_code": bank_code,
            "account_number": account_number,
            "amount": amount,
            "currency": currency,
            "memo": memo,
            "reference": reference,
        }
        answer = await self.caller.post("/clearing/credits", body)
        return parse_answer(self.caller.agency, _credit, answer)
