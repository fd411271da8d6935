"""Before each workload the benchmark lets the database settle: every table vacuumed and
analyzed (and a checkpoint), so one workload's leftovers do not land on the next one's
figures."""

from __future__ import annotations

import asyncpg

from neobank.benchmark.runner import settle


async def test_settle_vacuums_and_analyzes_every_table(
    database_url: str, db: asyncpg.Connection
) -> None:
    await db.execute("INSERT INTO bank_secrets (name, value) VALUES ('settle-test', 'x')")
    await settle(database_url)
    rows = await db.fetch(
        "SELECT relname, last_vacuum, last_analyze FROM pg_stat_user_tables "
        "WHERE relname IN ('bank_secrets', 'transfers', 'journal_entries')"
    )
    assert len(rows) == 3
    assert all(r["last_vacuum"] is not None and r["last_analyze"] is not None for r in rows), rows
