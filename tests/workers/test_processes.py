"""`neobank worker` and `neobank serve` as real processes: they run jobs, and stop cleanly."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

import asyncpg
import pytest

from tests.conftest import OPS_TOKEN
from tests.system.conftest import free_port
from tests.workers.conftest import eventually

START_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 15.0
WORKERS = "SELECT count(*) FROM procrastinate.procrastinate_workers"


async def _start(args: list[str], database_url: str, data_dir: Path) -> asyncio.subprocess.Process:
    env = {
        **os.environ,
        "NEOBANK_DATABASE_URL": database_url,
        "NEOBANK_DATA_DIR": str(data_dir),
        "NEOBANK_ADMIN_TOKEN": OPS_TOKEN,
    }
    env.pop("NEOBANK_RUN_WORKERS", None)
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "neobank.cli.main", *args, env=env, start_new_session=True
    )


async def _purge_runs_then_stop(
    db: asyncpg.Connection, process: asyncio.subprocess.Process, *, exit_codes: set[int]
) -> None:
    """The worker purges the old key at start (inserted before), then stops on SIGTERM."""
    try:
        await eventually(lambda: db.fetchval(WORKERS), timeout_s=START_TIMEOUT_S)
        await eventually(lambda: _purged(db))
        process.send_signal(signal.SIGTERM)
        await asyncio.wait_for(process.wait(), timeout=STOP_TIMEOUT_S)
    finally:
        if process.returncode is None:
            os.killpg(process.pid, signal.SIGKILL)
            await process.wait()
    assert process.returncode in exit_codes
    assert await db.fetchval(WORKERS) == 0  # it unregistered: a graceful stop


async def _old_key(db: asyncpg.Connection) -> None:
    await db.execute(
        "INSERT INTO idempotency_keys (scope, key, request_hash, created_at)"
        " VALUES ('ops', 'old', '\\x00', now() - interval '49 hours')"
    )


async def _purged(db: asyncpg.Connection) -> bool:
    return not await db.fetchval("SELECT count(*) FROM idempotency_keys WHERE key = 'old'")


async def test_neobank_worker_runs_jobs_and_stops_on_sigterm(
    db: asyncpg.Connection, database_url: str, tmp_path: Path
) -> None:
    await _old_key(db)
    process = await _start(["worker"], database_url, tmp_path)
    await _purge_runs_then_stop(db, process, exit_codes={0})


@pytest.mark.parametrize("workers", [True, False], ids=["with workers", "no workers"])
async def test_neobank_serve_runs_jobs_unless_told_not_to(
    db: asyncpg.Connection, database_url: str, tmp_path: Path, workers: bool
) -> None:
    args = ["serve", "--port", str(free_port())] + ([] if workers else ["--no-workers"])
    await _old_key(db)
    process = await _start(args, database_url, tmp_path)
    if workers:
        # uvicorn shuts down (the lifespan stops the worker), then re-raises the signal.
        await _purge_runs_then_stop(db, process, exit_codes={0, -signal.SIGTERM})
        return
    try:
        await eventually(lambda: _listening(db), timeout_s=START_TIMEOUT_S)
        await asyncio.sleep(0.5)
        assert await db.fetchval(WORKERS) == 0
        assert not await _purged(db)
    finally:
        process.send_signal(signal.SIGTERM)
        await asyncio.wait_for(process.wait(), timeout=STOP_TIMEOUT_S)


async def _listening(db: asyncpg.Connection) -> bool:
    # The API process holds pool connections once its lifespan has started.
    return bool(
        await db.fetchval(
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
    )
