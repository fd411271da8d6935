"""The `neobank` command line against a real database: migrate, demo, ledger check, worker."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import asyncpg
import pytest

from tests.conftest import OPS_TOKEN

pytestmark = pytest.mark.slow


def _env(database_url: str, data_dir: Path) -> dict[str, str]:
    return {
        **os.environ,
        "NEOBANK_DATABASE_URL": database_url,
        "NEOBANK_DATA_DIR": str(data_dir),
        "NEOBANK_ADMIN_TOKEN": OPS_TOKEN,
    }


def neobank(
    *args: str, env: dict[str, str], timeout_s: float = 120
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "neobank.cli.main", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout_s,
        check=False,
    )


async def test_demo_is_idempotent_and_the_ledger_checks(
    database_url: str, tmp_path: Path, db: asyncpg.Connection
) -> None:
    env = _env(database_url, tmp_path)
    assert neobank("migrate", env=env).returncode == 0
    first = neobank("demo", env=env)
    assert first.returncode == 0, first.stderr
    counts = await db.fetchrow(
        "SELECT (SELECT count(*) FROM customers) AS customers, "
        "(SELECT count(*) FROM payments) AS payments, (SELECT count(*) FROM promotions) AS promos"
    )
    second = neobank("demo", env=env)
    assert second.returncode == 0, second.stderr
    again = await db.fetchrow(
        "SELECT (SELECT count(*) FROM customers) AS customers, "
        "(SELECT count(*) FROM payments) AS payments, (SELECT count(*) FROM promotions) AS promos"
    )
    assert counts == again
    assert counts["customers"] == 3 and counts["promos"] == 1
    check = neobank("ledger", "check", env=env)
    assert check.returncode == 0, check.stderr
    report = json.loads(check.stdout)
    assert report["balanced"] is True and report["accounts_checked"] >= 8


async def test_ledger_check_exits_1_on_a_corrupted_balance(
    database_url: str, tmp_path: Path, db: asyncpg.Connection
) -> None:
    env = _env(database_url, tmp_path)
    assert neobank("demo", env=env).returncode == 0
    # Bypass the triggers the way only a bug or an operator with superuser rights could.
    await db.execute("SET session_replication_role = replica")
    await db.execute(
        "UPDATE ledger_accounts SET credits_posted = credits_posted + 1 "
        "WHERE id = (SELECT id FROM accounts ORDER BY number LIMIT 1)"
    )
    check = neobank("ledger", "check", env=env)
    assert check.returncode == 1
    assert json.loads(check.stdout)["balanced"] is False


async def test_worker_runs_jobs_and_stops_on_sigterm(
    database_url: str, tmp_path: Path, db: asyncpg.Connection
) -> None:
    await db.execute(
        "INSERT INTO idempotency_keys "
        "(scope, key, request_hash, status_code, response, created_at) "
        "VALUES ('ops', 'ancient', '\\x00', 200, '{}'::jsonb, now() - interval '3 days'), "
        "('ops', 'recent', '\\x00', 200, '{}'::jsonb, now() - interval '1 day')"
    )
    worker = subprocess.Popen(
        [sys.executable, "-m", "neobank.cli.main", "worker"],
        env=_env(database_url, tmp_path),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        for _ in range(150):
            left = {r["key"] for r in await db.fetch("SELECT key FROM idempotency_keys")}
            if left == {"recent"}:
                break
            await asyncio.sleep(0.2)
        assert left == {"recent"}, "the purge job did not run"
    finally:
        worker.send_signal(signal.SIGTERM)
        code = worker.wait(timeout=30)
    assert code == 0
