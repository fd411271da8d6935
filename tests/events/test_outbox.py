"""The outbox holds a use case's events (and the writes it leaves for last) until its
transaction's last write, each event with its own time, and hands them over exactly once."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from neobank.db.statement import WriteStatement
from neobank.events import EventRow, Outbox
from neobank.events.outbox import add_events


async def _events(db: asyncpg.Connection, aggregate_id: str) -> list[asyncpg.Record]:
    return await db.fetch(
        "SELECT type, payload, occurred_at FROM events WHERE aggregate_id = $1 ORDER BY id",
        aggregate_id,
    )


async def test_events_go_out_with_the_last_write_each_at_its_own_time(
    db: asyncpg.Connection,
) -> None:
    aggregate = str(uuid.uuid4())
    first = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
    outbox = Outbox()
    outbox.add(EventRow("test.first", "test", aggregate, {"n": 1}), first)
    outbox.add(EventRow("test.second", "test", aggregate, {"n": 2}), first + timedelta(seconds=3))
    assert len(outbox) == 2
    last = WriteStatement()
    outbox.add_to(last)
    assert len(outbox) == 0, "handed over: the outbox holds nothing more"
    async with db.transaction():
        await last.execute(db)
        await outbox.write(db)  # nothing left: writes nothing
    rows = await _events(db, aggregate)
    assert [(r["type"], r["payload"]) for r in rows] == [
        ("test.first", {"n": 1}),
        ("test.second", {"n": 2}),
    ]
    assert [r["occurred_at"] for r in rows] == [first, first + timedelta(seconds=3)]


async def test_a_rolled_back_transaction_writes_none_of_its_events(
    db: asyncpg.Connection,
) -> None:
    aggregate = str(uuid.uuid4())
    outbox = Outbox()
    outbox.add(EventRow("test.lost", "test", aggregate, {}), datetime.now(UTC))
    tr = db.transaction()
    await tr.start()
    await outbox.write(db)
    await tr.rollback()
    assert await _events(db, aggregate) == []


@pytest.mark.parametrize("step_moved", [True, False])
async def test_events_follow_the_part_they_depend_on(
    db: asyncpg.Connection, step_moved: bool
) -> None:
    """A job's result: the step's update, its event only if the update found the step, and
    what the final select reads of the update, in one statement."""
    aggregate = str(uuid.uuid4())
    await db.execute("CREATE TEMP TABLE steps (status text)")
    await db.execute("INSERT INTO steps VALUES ($1)", "pending" if step_moved else "done")
    statement = WriteStatement()
    step = statement.add("UPDATE steps SET status = 'done' WHERE status = 'pending' RETURNING 1")
    add_events(
        statement, [EventRow("test.moved", "test", aggregate, {})], datetime.now(UTC), when=step
    )
    found = await statement.fetchval(db, f"SELECT count(*) FROM {step}")
    assert found == (1 if step_moved else 0)
    assert len(await _events(db, aggregate)) == (1 if step_moved else 0)


async def test_a_write_left_for_last_goes_out_once_with_the_events(
    db: asyncpg.Connection,
) -> None:
    aggregate = str(uuid.uuid4())
    await db.execute("CREATE TEMP TABLE steps (id int, status text)")
    await db.execute("INSERT INTO steps VALUES (1, 'pending')")
    outbox = Outbox()

    def finish_step(statement: WriteStatement) -> None:
        statement.add(f"UPDATE steps SET status = {statement.param('done')} WHERE id = 1")

    outbox.leave(finish_step)
    outbox.add(EventRow("test.finished", "test", aggregate, {}), datetime.now(UTC))
    assert len(outbox) == 2
    async with db.transaction():
        await outbox.write(db)
        assert len(outbox) == 0
        await outbox.write(db)  # handed over once: nothing is written twice
    assert await db.fetchval("SELECT status FROM steps WHERE id = 1") == "done"
    assert [r["type"] for r in await _events(db, aggregate)] == ["test.finished"]
