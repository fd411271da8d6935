"""`WriteStatement.rows`: rows sent as one JSON parameter read back with their SQL types."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

import asyncpg

from neobank.db.statement import WriteStatement

COLUMNS = (
    ("id", "uuid"),
    ("flag", "boolean"),
    ("small", "int"),
    ("big", "bigint"),
    ("day", "date"),
    ("at", "timestamptz"),
    ("note", "text"),
    ("doc", "jsonb"),
)


async def test_rows_come_back_as_they_were_sent(db: asyncpg.Connection) -> None:
    stored = await db.fetchval("SELECT gen_random_uuid()")  # asyncpg's own UUID type
    rows = [
        (
            uuid.uuid4(),
            True,
            7,
            2**62 + 1,
            date(2026, 11, 25),
            datetime.now(UTC),
            'a "b" \\ 한',
            {"k": [1, None]},
        ),
        (stored, False, -1, -(2**63), None, None, None, None),
    ]
    naive = datetime(2026, 11, 25, 9, 30)  # UTC, as asyncpg takes it for a timestamptz
    rows.append((uuid.uuid4(), None, 0, 0, None, naive, "", {}))
    statement = WriteStatement()
    source = statement.rows(COLUMNS, rows)
    read = statement.add(f"SELECT * FROM {source}")
    columns = ", ".join(f"r.{name}" for name, sql_type in COLUMNS if sql_type != "jsonb")
    # A record's jsonb would come back in binary, which the JSON codec does not read.
    back, docs = await statement.fetchrow(
        db, f"SELECT array_agg(({columns})), array_agg(r.doc) FROM {read} r"
    )
    sent = [
        rows[0],
        (uuid.UUID(str(stored)), *rows[1][1:]),
        (*rows[2][:5], naive.replace(tzinfo=UTC), *rows[2][6:]),
    ]
    assert [tuple(r) for r in back] == [row[:-1] for row in sent]
    assert docs == [row[-1] for row in sent]
