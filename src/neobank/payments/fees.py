"""Fee rules and launch promotions: what a transfer costs and how much of it is waived.

The arithmetic is plain Python. A waiver of p% on a fee F waives ceil(F * p / 100) minor
units: rounding goes in the customer's favour, and the customer pays the rest. When several
promotions cover a kind at once, the most generous one applies.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import asyncpg

__all__ = ["FEE_KINDS", "FeeBook", "FeeQuote", "FeeRule", "Promotion", "quote_fee"]

FEE_KINDS = ("internal", "interbank", "atm_withdrawal", "partner")
# How long a process trusts its cached rules before reading them again; other processes see a
# change within this time, the process that made it at once.
FEE_CACHE_TTL_S = 1.0


@dataclass(frozen=True)
class FeeRule:
    kind: str
    currency: str
    amount: int


@dataclass(frozen=True)
class Promotion:
    id: uuid.UUID
    name: str
    kinds: tuple[str, ...]
    waive_percent: int
    starts_at: datetime
    ends_at: datetime

    def covers(self, kind: str, at: datetime) -> bool:
        return kind in self.kinds and self.starts_at <= at < self.ends_at


@dataclass(frozen=True)
class FeeQuote:
    gross: int  # the fee before any waiver
    waived: int
    promotion: Promotion | None

    @property
    def charged(self) -> int:
        return self.gross - self.waived


NO_FEE = FeeQuote(0, 0, None)


def quote_fee(
    rules: Sequence[FeeRule],
    promotions: Sequence[Promotion],
    kind: str,
    currency: str,
    at: datetime,
) -> FeeQuote:
    gross = next((r.amount for r in rules if r.kind == kind and r.currency == currency), 0)
    if gross == 0:
        return NO_FEE
    # A 0% promotion waives nothing, so it is not named on the transfer either.
    active = [p for p in promotions if p.waive_percent > 0 and p.covers(kind, at)]
    if not active:
        return FeeQuote(gross, 0, None)
    best = max(active, key=lambda p: (p.waive_percent, p.starts_at))
    waived = -(-gross * best.waive_percent // 100)
    return FeeQuote(gross, waived, best)


class FeeBook:
    """The fee rules and promotions, cached per process for `FEE_CACHE_TTL_S`."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool
        self._loaded_at = float("-inf")
        self._generation = 0  # bumped by invalidate(), so a load already under way is not trusted
        self._rules: list[FeeRule] = []
        self._promotions: list[Promotion] = []

    def invalidate(self) -> None:
        self._generation += 1
        self._loaded_at = float("-inf")

    async def quote(self, kind: str, currency: str, at: datetime) -> FeeQuote:
        if time.monotonic() - self._loaded_at > FEE_CACHE_TTL_S:
            await self._load()
        return quote_fee(self._rules, self._promotions, kind, currency, at)

    async def _load(self) -> None:
        generation = self._generation
        async with self._pool.acquire() as conn:
            rules = await conn.fetch("SELECT kind, currency, amount FROM fee_rules")
            promotions = await conn.fetch(
                "SELECT id, name, kinds, waive_percent, starts_at, ends_at FROM promotions "
                "WHERE ends_at > now()"
            )
        self._rules = [FeeRule(r["kind"], r["currency"], r["amount"]) for r in rules]
        self._promotions = [
            Promotion(
                p["id"],
                p["name"],
                tuple(p["kinds"]),
                p["waive_percent"],
                p["starts_at"],
                p["ends_at"],
            )
            for p in promotions
        ]
        if generation == self._generation:
            # A change committed while this load read the tables may be missing from what it
            # read: use the rules for this quote, but let the next quote read them again.
            self._loaded_at = time.monotonic()
