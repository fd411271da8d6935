"""Writing events to the outbox, in the same transaction as the change they describe."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from neobank.db.statement import WriteStatement

__all__ = ["EventRow", "add_events", "write_events"]


@dataclass(frozen=True)
class EventRow:
    type: str
    aggregate_type: str
    aggregate_id: str
    payload: dict[str, Any]
    schema_version: int = 1


def add_events(
    statement: WriteStatement, events: Sequence[EventRow], occurred_at: datetime
) -> None:
    """Add the events' insert to a statement of several writes (nothing if there are none)."""
    if not events:
        return
    p = statement.param
    statement.add(
        f"""
        INSERT INTO events (type, schema_version, aggregate_type, aggregate_id, payload,
                            occurred_at)
        SELECT t, v, at, ai, p, {p(occurred_at)}::timestamptz
        FROM unnest({p([e.type for e in events])}::text[],
                    {p([e.schema_version for e in events])}::int[],
                    {p([e.aggregate_type for e in events])}::text[],
                    {p([e.aggregate_id for e in events])}::text[],
                    {p([e.payload for e in events])}::jsonb[])
            AS u(t, v, at, ai, p)
        """
    )


async def write_events(
    conn: asyncpg.Connection, events: Sequence[EventRow], occurred_at: datetime
) -> None:
    statement = WriteStatement()
    add_events(statement, events, occurred_at)
    await statement.execute(conn)
