"""Migration 0004: procrastinate's own schema.sql, in its own schema, undone by downgrade."""

from __future__ import annotations

import asyncio
import re
from importlib.resources import files

import asyncpg
from alembic import command
from alembic.script import ScriptDirectory

from neobank.db.migrate import alembic_config

FUNCTIONS = """
SELECT p.proname, p.proconfig FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
WHERE n.nspname = 'procrastinate'
"""


def _declared_functions() -> set[str]:
    schema_sql = files("procrastinate.sql").joinpath("schema.sql").read_text(encoding="utf-8")
    return set(re.findall(r"CREATE FUNCTION (\w+)\(", schema_sql))


async def test_the_installed_procrastinate_schema_is_applied_and_pinned(
    db: asyncpg.Connection,
) -> None:
    rows = await db.fetch(FUNCTIONS)
    assert {r["proname"] for r in rows} == _declared_functions()
    # Callers with the default search path (the bank's asyncpg pool) still reach the tables.
    assert {tuple(r["proconfig"]) for r in rows} == {("search_path=procrastinate, pg_catalog",)}
    assert await db.fetchval("SELECT to_regclass('public.procrastinate_jobs')") is None


async def test_downgrade_drops_it_and_upgrade_brings_it_back(
    db: asyncpg.Connection, database_url: str
) -> None:
    config = alembic_config(database_url)
    await asyncio.to_thread(command.downgrade, config, "0003")
    assert await db.fetchval("SELECT to_regnamespace('procrastinate')") is None
    await asyncio.to_thread(command.upgrade, config, "head")
    assert {r["proname"] for r in await db.fetch(FUNCTIONS)} == _declared_functions()
    # Alembic wrote the version after 0004 ran: 0004 gave the search path back in time.
    head = ScriptDirectory.from_config(config).get_current_head()
    assert await db.fetchval("SELECT version_num FROM alembic_version") == head
