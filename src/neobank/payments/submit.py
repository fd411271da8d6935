"""Handing payment submissions to the ledger engine under an idempotency key."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import asyncpg

from neobank.idempotency import Claim, InFlight, fetch_answer
from neobank.ledger.engine import Answer, LedgerEngine, Submission
from neobank.payments.errors import PaymentError
from neobank.payments.fees import FeeBook

__all__ = ["PaymentDeps", "payment_deps", "refuse", "submit_to_ledger"]


@dataclass(frozen=True)
class PaymentDeps:
    pool: asyncpg.Pool
    engine: LedgerEngine
    fees: FeeBook
    inflight: InFlight


class _ProcessServices(Protocol):
    pool: asyncpg.Pool
    engine: LedgerEngine
    fees: FeeBook
    inflight: InFlight


def payment_deps(services: _ProcessServices) -> PaymentDeps:
    """What the payment use cases need, taken from the process's services."""
    return PaymentDeps(services.pool, services.engine, services.fees, services.inflight)


async def submit_to_ledger(deps: PaymentDeps, submission: Submission) -> Answer:
    """Submit while this process holds the key, so a concurrent duplicate answers 409."""
    assert submission.claim is not None
    deps.inflight.enter(submission.claim)
    try:
        return await deps.engine.submit(submission)
    finally:
        deps.inflight.leave(submission.claim)


async def refuse(deps: PaymentDeps, claim: Claim, error: PaymentError) -> Answer:
    """Refuse a request that failed a check before the ledger, unless its key already holds an
    answer: that answer is replayed (or the key's mismatch reported), so a retry is never told
    something different from what the first request was told."""
    stored = await fetch_answer(deps.pool, claim)
    if stored is None:
        raise error
    return Answer(stored, replayed=True)
