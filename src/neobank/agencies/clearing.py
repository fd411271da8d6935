"""The clearing house: credits delivered to accounts at other banks, kept in memory (bounded)
so that a test, or a person in a demo, can read them back with their memos.

A credit sent again with the same ``reference`` is delivered once (the bank retries).
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict, deque
from dataclasses import dataclass
from datetime import datetime

__all__ = ["ClearingHouse", "Credit"]


@dataclass(frozen=True, slots=True)
class Credit:
    credit_id: str
    bank_code: str
    account_number: str
    amount: int
    currency: str
    memo: str
    reference: str | None
    delivered_at: datetime


class ClearingHouse:
    """Keeps the last ``credits_per_account_max`` credits of the last ``accounts_max``
    accounts credited, and the references of the credits it still keeps."""

    def __init__(self, accounts_max: int, credits_per_account_max: int) -> None:
        self._accounts_max = accounts_max
        self._credits_per_account_max = credits_per_account_max
        self._by_account: OrderedDict[str, deque[Credit]] = OrderedDict()
        self._by_reference: dict[str, Credit] = {}
        self.delivered = 0

    def deliver(
        self,
        bank_code: str,
        account_number: str,
        amount: int,
        currency: str,
        memo: str,
        reference: str | None,
        now: datetime,
    ) -> Credit:
        if reference is not None and reference in self._by_reference:
            return self._by_reference[reference]
        self.delivered += 1
        seed = f"{self.delivered}|{bank_code}|{account_number}|{reference}|{now.isoformat()}"
        credit_id = "clr_" + hashlib.sha256(seed.encode()).hexdigest()[:24]
        credit = Credit(
            credit_id, bank_code, account_number, amount, currency, memo, reference, now
        )
        credits = self._by_account.pop(account_number, None)
        if credits is None:
            credits = deque(maxlen=self._credits_per_account_max)
        if len(credits) == credits.maxlen:
            self._forget(credits[0])
        credits.append(credit)
        self._by_account[account_number] = credits
        if reference is not None:
            self._by_reference[reference] = credit
        if len(self._by_account) > self._accounts_max:
            _, evicted = self._by_account.popitem(last=False)
            for old in evicted:
                self._forget(old)
        return credit

    def credits_to(self, account_number: str) -> list[Credit]:
        """The account's credits, oldest first."""
        return list(self._by_account.get(account_number, ()))

    def _forget(self, credit: Credit) -> None:
        if credit.reference is not None:
            self._by_reference.pop(credit.reference, None)
