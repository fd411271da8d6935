"""Writing events to the outbox, in the same transaction as the change they describe."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from neobank.db.statement import WriteStatement

__all__ = ["EventRow", "Outbox", "add_events", "write_events"]


@dataclass(frozen=True)
class EventRow:
    type: str
    aggregate_type: str
    aggregate_id: str
    payload: dict[str, Any]
    schema_version: int = 1


_EVENT_ROW = (
    ("type", "text"),
    ("schema_version", "int"),
    ("aggregate_type", "text"),
    ("aggregate_id", "text"),
    ("occurred_at", "timestamptz"),
    ("payload", "jsonb"),
)


def add_events(
    statement: WriteStatement,
    events: Sequence[EventRow],
    occurred_at: datetime | Sequence[datetime],
    *,
    when: str | None = None,
) -> None:
    """Add the events' insert to a statement of several writes (nothing if there are none).
    ``occurred_at`` is one time for all of them, or one time per event; with ``when`` (a
    part's name), only if that part returned a row."""
    if not events:
        return
    if isinstance(occurred_at, datetime):
        occurred_at = [occurred_at] * len(events)
    assert len(occurred_at) == len(events), "one time per event"
    rows = [
        (e.type, e.schema_version, e.aggregate_type, e.aggregate_id, at, e.payload)
        for e, at in zip(events, occurred_at, strict=True)
    ]
    statement.add(
        f"""
        INSERT INTO events (type, schema_version, aggregate_type, aggregate_id, occurred_at,
                            payload)
        SELECT * FROM {statement.rows(_EVENT_ROW, rows)}
        {f"WHERE EXISTS (SELECT FROM {when})" if when else ""}
        """
    )


async def write_events(
    conn: asyncpg.Connection, events: Sequence[EventRow], occurred_at: datetime
) -> None:
    statement = WriteStatement()
    add_events(statement, events, occurred_at)
    await statement.execute(conn)


class Outbox:
    """The events of one use case, and the writes it leaves for last, held until its
    transaction's last statement, so that they cost no round trip of their own (a sign-up's
    steps wrote eight event statements, and each step's update had one of its own).

    Whoever owns the transaction writes them (``add_to`` a statement it runs anyway, or
    ``write``) before committing; a use case only ``add``s events and ``leave``s writes. A
    write left for last must not be read back by the use case (the parts of one statement
    see the snapshot from before it): leave only what nothing reads before the commit."""

    def __init__(self) -> None:
        self._events: list[EventRow] = []
        self._times: list[datetime] = []
        self._writes: list[Callable[[WriteStatement], object]] = []

    def add(self, event: EventRow, occurred_at: datetime) -> None:
        self._events.append(event)
        self._times.append(occurred_at)

    def leave(self, write: Callable[[WriteStatement], object]) -> None:
        """Leave a write for the last statement: ``write`` adds its part to that statement."""
        self._writes.append(write)

    def __len__(self) -> int:
        return len(self._events) + len(self._writes)

    def add_to(self, statement: WriteStatement) -> None:
        """Hand the held writes and events over to a statement of several writes (they are
        written once, by that statement)."""
        for write in self._writes:
            write(statement)
        add_events(statement, self._events, self._times)
        self._events, self._times, self._writes = [], [], []

    async def write(self, conn: asyncpg.Connection) -> None:
        statement = WriteStatement()
        self.add_to(statement)
        await statement.execute(conn)
