"""Statements keyed by an array of ids match them by an index or a hash under every plan.

PostgreSQL may run a prepared statement with its generic plan (asyncpg prepares every
statement; the server switches after five executions when it looks no dearer). With
`id = ANY($1::uuid[])` and a sequential scan, that plan compares every row with every element
of the array: seconds per 8,190-transfer batch on a few hundred thousand rows. The planner is
forced here into its worst corner (generic plan, no index scans) and the plan is read."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import asyncpg
import pytest

from neobank.db.sql import in_ids
from neobank.ledger.store import LOAD_FOR_BATCH_SQL, LOCK_ACCOUNTS_SQL

IDS = [uuid.uuid4() for _ in range(8190)]


def _nodes(plan: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield plan
    for child in plan.get("Plans", []):
        yield from _nodes(child)


async def _worst_generic_plan(db: asyncpg.Connection, sql: str, *args: object) -> list[str]:
    """The filters of the generic plan with index scans off: where rows meet the array."""
    await db.execute(
        "SET plan_cache_mode = force_generic_plan; SET enable_indexscan = off; "
        "SET enable_bitmapscan = off; SET enable_indexonlyscan = off"
    )
    try:
        plan = await db.fetchval("EXPLAIN (FORMAT JSON) " + sql, *args)
    finally:
        await db.execute("RESET ALL")
    if isinstance(plan, str):  # the bank's connections may decode json already
        plan = json.loads(plan)
    return [node.get("Filter", "") for node in _nodes(plan[0]["Plan"])]


def _scans_the_array_per_row(filters: list[str]) -> bool:
    return any("ANY (" in f for f in filters)


async def test_the_old_form_scans_the_array_for_every_row(db: asyncpg.Connection) -> None:
    """The control: the shape this module guards against does appear with `= ANY`."""
    filters = await _worst_generic_plan(
        db, "SELECT id FROM transfers WHERE id = ANY($1::uuid[])", IDS
    )
    assert _scans_the_array_per_row(filters)


@pytest.mark.parametrize(
    ("name", "sql", "args"),
    [
        ("in_ids", f"SELECT id FROM transfers WHERE id {in_ids()}", (IDS,)),
        ("lock_accounts", LOCK_ACCOUNTS_SQL, (IDS,)),
        ("load_for_batch", LOAD_FOR_BATCH_SQL, (IDS, IDS, 2)),
    ],
)
async def test_batch_statements_never_scan_the_array_per_row(
    db: asyncpg.Connection, name: str, sql: str, args: tuple[object, ...]
) -> None:
    filters = await _worst_generic_plan(db, sql, *args)
    assert not _scans_the_array_per_row(filters), (name, filters)


async def test_in_ids_matches_exactly_the_ids(db: asyncpg.Connection) -> None:
    stored = [uuid.uuid4() for _ in range(3)]
    await db.execute("CREATE TEMP TABLE t (id uuid PRIMARY KEY)")
    await db.executemany("INSERT INTO t VALUES ($1)", [(i,) for i in stored])
    rows = await db.fetch(f"SELECT id FROM t WHERE id {in_ids()}", [stored[0], stored[2], IDS[0]])
    assert {r["id"] for r in rows} == {stored[0], stored[2]}
    assert await db.fetch(f"SELECT id FROM t WHERE id {in_ids()}", []) == []
