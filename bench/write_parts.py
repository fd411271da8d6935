"""What PostgreSQL spends on each part of a big batch's writes (no HTTP, no engine).

Migrates a fresh database `write_parts` on the server at URL, opens 1000 accounts, then, in
one transaction per run, writes what a batch of N transfers writes (transfers, two journal
entries each, account counters, payments, one jsonb event each) statement by statement and
prints each statement's time (arguments are built before the clock starts). The deferred
balance check runs at COMMIT, so a run that is not balanced fails. `--with-foreign-keys` adds
back the five foreign keys that migration 0007 replaced with bulk checks, to see what they cost.

    .venv/bin/python bench/write_parts.py [--url postgresql://postgres@127.0.0.1:5432/postgres]
        [--transfers 16380] [--runs 3] [--with-foreign-keys]
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import random
import time
import uuid
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import neobank.db
from neobank.benchmark.runner import recreate_database
from neobank.db.migrate import migrate
from neobank.db.pool import create_pool

ACCOUNTS = 1000
MIGRATION_0007 = (
    Path(neobank.db.__file__).parent / "migrations/versions/0007_ledger_bulk_references.py"
)
DATABASE = "write_parts"
STATEMENTS = {
    "lock": "SELECT id FROM ledger_accounts WHERE id = ANY($1::uuid[]) ORDER BY id FOR UPDATE",
    "transfers": """
        INSERT INTO transfers (id, debit_account_id, credit_account_id, amount, currency, code,
                               flags, timeout_s, created_at)
        SELECT i, d, c, a, 'KRW', 1, 0, 0, $5
        FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::bigint[]) AS u(i, d, c, a)""",
    "journal": """
        INSERT INTO journal_entries
            (account_id, transfer_id, side, amount, currency, balance_after, created_at)
        SELECT a, t, s, am, 'KRW', 0, $5
        FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::bigint[])
            WITH ORDINALITY AS u(a, t, s, am, n) ORDER BY n""",
    "accounts": """
        UPDATE ledger_accounts a SET debits_posted = debits_posted + u.d,
                                     credits_posted = credits_posted + u.c
        FROM unnest($1::uuid[], $2::bigint[], $3::bigint[]) AS u(id, d, c) WHERE a.id = u.id""",
    "payments": """
        INSERT INTO payments (id, kind, from_account_id, to_account_id, amount, currency,
                              fee_amount, fee_waived_amount, created_at)
        SELECT i, 'internal', d, c, a, 'KRW', 0, 500, $5
        FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::bigint[]) AS u(i, d, c, a)""",
    "events": """
        INSERT INTO events (type, schema_version, aggregate_type, aggregate_id, payload,
                            occurred_at)
        SELECT 'transfer.posted', 1, 'transfer', ai, p, $3
        FROM unnest($1::text[], $2::jsonb[]) AS u(ai, p)""",
}


def _arguments(
    accounts: list[uuid.UUID], count: int, rng: random.Random
) -> dict[str, tuple[Any, ...]]:
    now = datetime.now(UTC)
    ids = [uuid.uuid4() for _ in range(count)]
    pairs = [rng.sample(accounts, 2) for _ in range(count)]
    debits = [p[0] for p in pairs]
    credits = [p[1] for p in pairs]
    amounts = [rng.randint(1, 1000) for _ in range(count)]
    debited: Counter[uuid.UUID] = Counter()
    credited: Counter[uuid.UUID] = Counter()
    for debit, credit, amount in zip(debits, credits, amounts, strict=True):
        debited[debit] += amount
        credited[credit] += amount
    payloads = [
        {
            "id": str(i),
            "status": "posted",
            "from_account_id": str(d),
            "to_account_id": str(c),
            "amount": a,
            "currency": "KRW",
            "kind": "internal",
            "memo": None,
            "fee": {"amount": 0, "waived_amount": 500, "promotion": "Launch"},
            "created_at": now.isoformat(),
            "fee_gross": 500,
        }
        for i, d, c, a in zip(ids, debits, credits, amounts, strict=True)
    ]
    return {
        "lock": (accounts,),
        "transfers": (ids, debits, credits, amounts, now),
        "journal": (
            [a for pair in zip(debits, credits, strict=True) for a in pair],
            [i for i in ids for _ in range(2)],
            ["D", "C"] * count,
            [a for a in amounts for _ in range(2)],
            now,
        ),
        "accounts": (accounts, [debited[a] for a in accounts], [credited[a] for a in accounts]),
        "payments": (ids, debits, credits, amounts, now),
        "events": ([str(i) for i in ids], payloads, now),
    }


def _foreign_keys() -> dict[str, tuple[str, str, str]]:
    """The keys migration 0007 dropped: name -> (table, column, referenced table)."""
    spec = importlib.util.spec_from_file_location("migration_0007", MIGRATION_0007)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    keys: dict[str, tuple[str, str, str]] = module.FOREIGN_KEYS
    return keys


async def _run(url: str, count: int, runs: int, foreign_keys: bool) -> None:
    pool = await create_pool(url, min_size=1, max_size=1)
    async with pool.acquire() as conn:
        accounts = sorted(uuid.uuid4() for _ in range(ACCOUNTS))
        await conn.executemany(
            "INSERT INTO ledger_accounts (id, currency, code, flags) VALUES ($1, 'KRW', 2000, 0)",
            [(a,) for a in accounts],
        )
        if foreign_keys:
            for name, (table, column, target) in _foreign_keys().items():
                await conn.execute(
                    f"ALTER TABLE {table} ADD CONSTRAINT {name} FOREIGN KEY ({column}) "
                    f"REFERENCES {target} (id)"
                )
        rng = random.Random(7)
        for run in range(runs):
            arguments = _arguments(accounts, count, rng)
            times_ms: dict[str, float] = {}
            transaction = conn.transaction()
            await transaction.start()
            for name, sql in STATEMENTS.items():
                started = time.perf_counter()
                await conn.execute(sql, *arguments[name])
                times_ms[name] = 1000 * (time.perf_counter() - started)
            started = time.perf_counter()
            await transaction.commit()
            times_ms["commit"] = 1000 * (time.perf_counter() - started)
            total_ms = sum(times_ms.values())
            parts = " ".join(f"{name}={ms:.0f}" for name, ms in times_ms.items())
            print(
                f"run {run}: {parts} total={total_ms:.0f} ms"
                f" ({1000 * total_ms / count:.0f} µs a transfer)"
            )
    await pool.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--transfers", type=int, default=16_380)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--with-foreign-keys", action="store_true")
    args = parser.parse_args()
    url = asyncio.run(recreate_database(args.url, DATABASE))
    migrate(url)
    asyncio.run(_run(url, args.transfers, args.runs, args.with_foreign_keys))


if __name__ == "__main__":
    main()
