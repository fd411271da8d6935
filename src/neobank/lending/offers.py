"""Offers expire: approved applications past offer_expires_at become cancelled
("offer_expired"), with an event each. Run every minute by the periodic job in
`neobank.lending.application_jobs`; reads already show an expired offer as cancelled."""

from __future__ import annotations

from datetime import datetime

import asyncpg

from neobank.events import EventRow, write_events

__all__ = ["EXPIRY_BATCH_MAX", "expire_offers"]

# Rows per transaction: a backlog (workers down for a day) is worked off in short steps.
EXPIRY_BATCH_MAX = 500

_EXPIRE = """
UPDATE loan_applications SET status = 'cancelled', cancel_reason = 'offer_expired',
    updated_at = $1
WHERE id IN (
    SELECT id FROM loan_applications
    WHERE status = 'approved' AND offer_expires_at <= $1
    ORDER BY offer_expires_at LIMIT $2 FOR UPDATE SKIP LOCKED
)
RETURNING id, offer_expires_at
"""


async def expire_offers(pool: asyncpg.Pool, now: datetime) -> int:
    """Cancel every offer that has expired by `now`; returns how many."""
    expired = 0
    while True:
        async with pool.acquire() as conn, conn.transaction():
            rows = await conn.fetch(_EXPIRE, now, EXPIRY_BATCH_MAX)
            events = [
                EventRow(
                    "loan.offer_expired",
                    "loan_application",
                    str(r["id"]),
                    {"offer_expires_at": r["offer_expires_at"].isoformat()},
                )
                for r in rows
            ]
            await write_events(conn, events, now)
        expired += len(rows)
        if len(rows) < EXPIRY_BATCH_MAX:
            return expired
