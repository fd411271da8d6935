"""Voiding pending transfers whose timeout has passed, through the engine like any transfer."""

from __future__ import annotations

import uuid
from datetime import datetime

import asyncpg

from neobank.idempotency import StoredAnswer
from neobank.ledger.domain import ItemOutcome, ResultCode, TransferFlags, TransferSpec
from neobank.ledger.engine import LedgerEngine, Rendered, Submission
from neobank.ledger.store import spec_from_row

__all__ = ["void_expired_pendings"]

EXPIRY_BATCH_MAX = 1000
_VOID_NAMESPACE = uuid.UUID("0b6f5a8e-3c55-4a44-9d1e-2f1b7a0c9e31")


async def void_expired_pendings(pool: asyncpg.Pool, engine: LedgerEngine, now: datetime) -> int:
    rows = await pool.fetch(
        """
        SELECT id, debit_account_id, credit_account_id, amount, currency, code, flags,
               pending_id, timeout_s
        FROM transfers t
        WHERE (flags & $1) <> 0 AND expires_at IS NOT NULL AND expires_at <= $2
          AND NOT EXISTS (SELECT 1 FROM transfers r WHERE r.pending_id = t.id)
        ORDER BY expires_at LIMIT $3
        """,
        int(TransferFlags.PENDING),
        now,
        EXPIRY_BATCH_MAX,
    )
    if not rows:
        return 0
    voids = []
    for row in rows:
        held = spec_from_row(row)
        voids.append(
            [
                TransferSpec(
                    id=uuid.uuid5(_VOID_NAMESPACE, str(held.id)),
                    debit_account_id=held.debit_account_id,
                    credit_account_id=held.credit_account_id,
                    amount=held.amount,
                    currency=held.currency,
                    code=held.code,
                    flags=int(TransferFlags.VOID_PENDING),
                    pending_id=held.id,
                )
            ]
        )

    def render(outcomes: list[ItemOutcome], at: datetime) -> Rendered:
        return Rendered(StoredAnswer(200, {"voided": _voided(outcomes)}))

    answer = await engine.submit(Submission(voids, render))
    return _voided(answer.outcomes or [])


def _voided(outcomes: list[ItemOutcome]) -> int:
    # A void that already exists was done by another worker racing this one: not counted.
    return sum(1 for o in outcomes if o.code is ResultCode.OK)
