"""The migrations and the declared tables agree, and many processes may migrate at once."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine
from sqlalchemy.exc import ProgrammingError

from neobank.db.metadata import load_all_models
from neobank.db.migrate import alembic_config, migrate
from neobank.db.urls import asyncpg_url, sqlalchemy_url
from tests.conftest import _admin, with_database

MIGRATING_PROCESSES = 4


def _differences(database_url: str) -> list[Any]:
    engine = create_engine(sqlalchemy_url(database_url))
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(
                conn, opts={"compare_type": True, "compare_server_default": True}
            )
            return list(compare_metadata(context, load_all_models()))
    finally:
        engine.dispose()


async def test_the_migrated_database_matches_the_models(database_url: str) -> None:
    assert await asyncio.to_thread(_differences, database_url) == []


async def test_a_drifted_model_is_noticed(database_url: str, db: asyncpg.Connection) -> None:
    # The comparison can fail: a column the models do not declare is reported.
    await db.execute("ALTER TABLE transfers ADD COLUMN stray integer")
    differences = await asyncio.to_thread(_differences, database_url)
    assert [d[0] for d in differences] == ["remove_column"]


@pytest.fixture
async def empty_database(server_url: str) -> AsyncIterator[str]:
    name = f"neobank_empty_{uuid.uuid4().hex[:12]}"
    await _admin(server_url, f"CREATE DATABASE {name}")
    yield with_database(server_url, name)
    await _admin(server_url, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


async def test_many_processes_migrate_a_fresh_database_at_once(empty_database: str) -> None:
    code = "import sys; from neobank.db.migrate import migrate; migrate(sys.argv[1])"
    processes = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            code,
            empty_database,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        for _ in range(MIGRATING_PROCESSES)
    ]
    results = await asyncio.gather(*(p.communicate() for p in processes))
    for process, (_, stderr) in zip(processes, results, strict=True):
        assert process.returncode == 0, stderr.decode()[-2000:]
    head = ScriptDirectory.from_config(alembic_config(empty_database)).get_current_head()
    conn = await asyncpg.connect(asyncpg_url(empty_database))
    try:
        versions = await conn.fetch("SELECT version_num FROM alembic_version")
        assert [v["version_num"] for v in versions] == [head]
        # The ledger's triggers were created once, not raced into a half state.
        triggers = await conn.fetchval(
            "SELECT count(*) FROM pg_trigger WHERE tgname = 'commit_balanced'"
        )
        assert triggers == 1
    finally:
        await conn.close()


async def test_a_failing_migration_reports_its_own_error(empty_database: str) -> None:
    conn = await asyncpg.connect(asyncpg_url(empty_database))
    try:
        await conn.execute("CREATE TABLE events (id integer)")  # in the way of 0001
    finally:
        await conn.close()
    with pytest.raises(ProgrammingError, match='relation "events" already exists'):
        await asyncio.to_thread(migrate, empty_database)
    # The lock was given back: the next attempt fails the same way instead of waiting.
    with pytest.raises(ProgrammingError, match="already exists"):
        await asyncio.wait_for(asyncio.to_thread(migrate, empty_database), timeout=30)
