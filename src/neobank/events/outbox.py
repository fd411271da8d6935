"""Writing events to the outbox, in the same transaction as the change they describe."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

__all__ = ["EventRow", "write_events"]


@dataclass(frozen=True)
class EventRow:
    type: str
    aggregate_type: str
    aggregate_id: str
    payload: dict[str, Any]
    schema_version: int = 1


async def write_events(
    conn: asyncpg.Connection, events: Sequence[EventRow], occurred_at: datetime
) -> None:
    if not events:
        return
    await conn.execute(
        """
        INSERT INTO events (type, schema_version, aggregate_type, aggregate_id, payload,
                            occurred_at)
        SELECT t, v, at, ai, p, $6
        FROM unnest($1::text[], $2::int[], $3::text[], $4::text[], $5::jsonb[])
            AS u(t, v, at, ai, p)
        """,
        [e.type for e in events],
        [e.schema_version for e in events],
        [e.aggregate_type for e in events],
        [e.aggregate_id for e in events],
        [e.payload for e in events],
        occurred_at,
    )
