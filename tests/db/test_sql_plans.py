"""Plans that stay good as the tables grow.

Statements keyed by an array of ids match them by an index or a hash under every plan.

PostgreSQL may run a prepared statement with its generic plan (asyncpg prepares every
statement; the server switches after five executions when it looks no dearer). With
`id = ANY($1::uuid[])` and a sequential scan, that plan compares every row with every element
of the array: seconds per 8,190-transfer batch on a few hundred thousand rows. The planner is
forced here into its worst corner (generic plan, no index scans) and the plan is read."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import asyncpg
import pytest

from neobank.db.pool import create_pool
from neobank.db.sql import in_ids
from neobank.db.statement import WriteStatement
from neobank.db.urls import asyncpg_url
from neobank.ledger import store
from neobank.ledger.check import check_ledger
from neobank.ledger.domain import TransferSpec, apply_batch
from neobank.ledger.forecast import expected_fields
from neobank.ledger.forecast_check import add_update_as_forecast
from neobank.ledger.store import LOAD_FOR_BATCH_SQL, LOCK_ACCOUNTS_SQL
from tests.db.test_triggers import move_counters, open_account, post

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


async def _bulk_post(
    conn: asyncpg.Connection, debit: uuid.UUID, credit: uuid.UUID, count: int
) -> None:
    """`count` postings of 1 in one statement, as the engine writes a batch."""
    async with conn.transaction():
        await conn.execute(
            "WITH t AS (INSERT INTO transfers (id, debit_account_id, credit_account_id, amount,"
            " currency, code, flags, created_at) SELECT gen_random_uuid(), $1, $2, 1, 'KRW', 1,"
            " 0, now() FROM generate_series(1, $3) RETURNING id)"
            " INSERT INTO journal_entries (account_id, transfer_id, side, amount, currency,"
            " balance_after, created_at) SELECT s.a, t.id, s.side, 1, 'KRW', 0, now()"
            " FROM t, (VALUES ($1::uuid, 'D'), ($2::uuid, 'C')) AS s(a, side)",
            debit,
            credit,
            count,
        )
        await move_counters(conn, debit, credit, count)


@pytest.mark.parametrize("first_batch", [20, 2_000])
async def test_the_ledger_checks_probe_indexes_after_the_tables_grew(
    db: asyncpg.Connection, database_url: str, first_batch: int
) -> None:
    """The statement triggers keep the plans a session makes at its first write (migration
    0011), and those plans can only probe `transfers` and `ledger_accounts` by their keys. A
    planner left free chose, for a first batch of 20 transfers on a new bank's tables, a hash
    join over a sequential scan of `ledger_accounts` (cheap then), and every later write of
    that session, one transfer or thousands, would scan the grown tables."""
    cash, customer = await open_account(db), await open_account(db, flags=1)
    await _bulk_post(db, cash, customer, first_batch)  # this session plans its checks here
    other = await asyncpg.connect(asyncpg_url(database_url))
    try:
        await other.execute(
            "INSERT INTO ledger_accounts (id, currency, code, flags) "
            "SELECT gen_random_uuid(), 'KRW', 2000, 0 FROM generate_series(1, 5000)"
        )
        await _bulk_post(other, cash, customer, 50_000)
    finally:
        await other.close()
    # The session's counts not yet sent to the statistics (its own bulk post's) included.
    counts = (
        "SELECT relname, seq_scan, idx_scan FROM pg_stat_xact_user_tables "
        "WHERE relname IN ('transfers', 'ledger_accounts') ORDER BY relname"
    )
    async with db.transaction():
        before = {r["relname"]: (r["seq_scan"], r["idx_scan"]) for r in await db.fetch(counts)}
        await post(db, customer, cash, 10)
        after = {r["relname"]: (r["seq_scan"], r["idx_scan"]) for r in await db.fetch(counts)}
    for table in ("transfers", "ledger_accounts"):
        assert after[table][0] == before[table][0], (table, before, after)
        assert after[table][1] > before[table][1], (table, before, after)
    assert (await check_ledger(db))["balanced"] is True


async def test_the_pools_statements_are_planned_for_their_arguments(
    db: asyncpg.Connection, database_url: str
) -> None:
    """The bank's pooled connections plan each execution with its arguments
    (plan_cache_mode=force_custom_plan): a statement that first ran with a batch's 8,190 ids
    on a small table must not keep a plan that scans the table once it has grown."""
    pool = await create_pool(database_url, min_size=1, max_size=1)
    counts = "SELECT seq_scan FROM pg_stat_xact_user_tables WHERE relname = 'transfers'"
    try:
        async with pool.acquire() as conn:
            for _ in range(8):
                await conn.fetch(LOAD_FOR_BATCH_SQL, IDS, [], 2)
            cash, customer = await open_account(db), await open_account(db, flags=1)
            await _bulk_post(db, cash, customer, 50_000)
            async with conn.transaction():
                before = await conn.fetchval(counts)
                await conn.fetch(LOAD_FOR_BATCH_SQL, IDS[:1], [], 2)
                after = await conn.fetchval(counts)
    finally:
        await pool.close()
    assert after == before


async def _seq_scans_of_accounts(db: asyncpg.Connection) -> int:
    return int(
        await db.fetchval(
            "SELECT seq_scan FROM pg_stat_xact_user_tables WHERE relname = 'ledger_accounts'"
        )
    )


async def _two_of_many_accounts(db: asyncpg.Connection) -> tuple[uuid.UUID, uuid.UUID]:
    cash, customer = await open_account(db), await open_account(db, flags=1)
    await db.execute(
        "INSERT INTO ledger_accounts (id, currency, code, flags) "
        "SELECT gen_random_uuid(), 'KRW', 2000, 0 FROM generate_series(1, 2000)"
    )
    await db.execute("ANALYZE ledger_accounts")
    return cash, customer


async def test_a_forecast_update_probes_its_accounts_by_key(db: asyncpg.Connection) -> None:
    """The checked update of a forecast batch (`add_update_as_forecast`) reads its rows from
    JSON, which the planner always takes for 100 rows: joined with `ledger_accounts` by id
    alone, it scanned the whole table for the two accounts of one transfer (the bench's
    1,006 accounts and their dead versions, every commit). The rows now tell the planner
    their count (`WriteStatement.rows`)."""
    cash, customer = await _two_of_many_accounts(db)
    async with db.transaction():
        accounts = await store.read_accounts(db, [cash, customer])
        expected = {i: expected_fields(a) for i, a in accounts.items()}
        before = await _seq_scans_of_accounts(db)
        statement = WriteStatement()
        checked = add_update_as_forecast(statement, expected, accounts)
        held = await statement.fetchval(db, f"SELECT n FROM {checked}")
        after = await _seq_scans_of_accounts(db)
    assert held == 2
    assert after == before


async def test_a_locked_batch_updates_its_accounts_by_key(db: asyncpg.Connection) -> None:
    """The same for a locked batch's counters (`store.add_ledger_writes`)."""
    cash, customer = await _two_of_many_accounts(db)
    now = datetime.now(UTC)
    spec = TransferSpec(uuid.uuid4(), cash, customer, 5, "KRW", 1)
    async with db.transaction():
        accounts = await store.lock_accounts(db, sorted([cash, customer]))
        outcome = apply_batch([[spec]], accounts, {}, {}, now)
        before = await _seq_scans_of_accounts(db)
        statement = WriteStatement()
        store.add_ledger_writes(statement, outcome, now)
        await statement.execute(db)
        assert await _seq_scans_of_accounts(db) == before
    assert (await check_ledger(db))["balanced"] is True
