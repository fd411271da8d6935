"""Deposit products, as data."""

from __future__ import annotations

from dataclasses import dataclass

from neobank.ledger.domain import AccountFlags

__all__ = ["PRODUCTS", "DepositProduct"]


@dataclass(frozen=True)
class DepositProduct:
    code: str
    name: str
    currency: str
    ledger_flags: int
    daily_debit_limit_minor: int | None


PRODUCTS: dict[str, DepositProduct] = {
    "demand_deposit": DepositProduct(
        code="demand_deposit",
        name="Demand deposit",
        currency="KRW",
        ledger_flags=int(AccountFlags.DEBITS_MUST_NOT_EXCEED_CREDITS),
        # Korean banks cap transfers out of an account per day; 50 million won by default.
        daily_debit_limit_minor=50_000_000,
    ),
}
