"""Many writes in one round trip: one statement of data-modifying CTEs.

Each module keeps its own SQL and adds it as a part (`INSERT`, `UPDATE`, ...), registering its
parameters with `param`. PostgreSQL runs all parts with one snapshot, then fires the AFTER
triggers (foreign keys included) at the end of the whole statement, where they see every row
the statement wrote. Parts may not depend on each other's effects, only read what another
returns (by the name `add` gives). The text depends only on which parts are present, so
asyncpg's statement cache keeps it prepared. One statement needs no transaction of its own:
it commits or fails as a whole.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import asyncpg

__all__ = ["WriteStatement"]


class WriteStatement:
    def __init__(self) -> None:
        self._parts: list[str] = []
        self._args: list[Any] = []

    def param(self, value: Any) -> str:
        """Register a parameter; returns its placeholder (`$n`)."""
        self._args.append(value)
        return f"${len(self._args)}"

    def rows(self, columns: Sequence[tuple[str, str]], rows: Sequence[Sequence[Any]]) -> str:
        """Register `rows` (values in the order of `columns`, each a name and an SQL type) and
        return a FROM item that reads them back, named `u`, its columns in that order.

        The columns go as one JSON parameter (`json_to_recordset`), not as an array a column:
        asyncpg checks every element of an array parameter against three abstract classes
        before it encodes it, which cost a commit of ten single transfers more of the API
        process's time than PostgreSQL spends reading the JSON (`docs/BENCHMARKS.md`, tenth
        session). The `jsonb` columns, which must come last, go as one array each, zipped
        with the rest (`ROWS FROM`): a document inside the JSON would be read twice more
        before PostgreSQL builds its jsonb, and a big batch's event and answer are megabytes."""
        names = [name for name, _ in columns]
        flat = [(name, sql_type) for name, sql_type in columns if sql_type != "jsonb"]
        assert all(t == "jsonb" for _, t in columns[len(flat) :]), "jsonb columns come last"
        keys = names[: len(flat)]
        record = self.param([dict(zip(keys, row[: len(flat)], strict=True)) for row in rows])
        spec = ", ".join(f"{name} {sql_type}" for name, sql_type in flat)
        if len(flat) == len(names):
            source = f"json_to_recordset({record}::json) AS u({spec})"
        else:
            functions = [f"json_to_recordset({record}::json) AS ({spec})"]
            for offset in range(len(flat), len(names)):
                functions.append(f"unnest({self.param([row[offset] for row in rows])}::jsonb[])")
            source = f"ROWS FROM ({', '.join(functions)}) AS u({', '.join(names)})"
        # The planner takes a set-returning function for 100 rows whatever it returns; the
        # LIMIT (every execution is planned with its arguments, `neobank.db.pool`) gives it
        # the count, so a join with a big table probes its key for a few rows instead of
        # scanning it (`tests/db/test_sql_plans.py`).
        return f"(SELECT * FROM {source} LIMIT {self.param(len(rows))}) AS u"

    def add(self, sql: str, *, materialized: bool = False) -> str:
        """Add one part (it must not end in a semicolon); returns the name under which later
        parts and the final select read what it returns. A `materialized` part that only
        reads runs once, before the parts that read it (a row lock taken there, say)."""
        name = f"w{len(self._parts)}"
        self._parts.append(f"{name} AS {'MATERIALIZED ' if materialized else ''}({sql})")
        return name

    def __bool__(self) -> bool:
        return bool(self._parts)

    @property
    def sql(self) -> str:
        return self._with("SELECT 1")

    def _with(self, select: str) -> str:
        return "WITH " + ",\n".join(self._parts) + "\n" + select

    async def execute(self, conn: asyncpg.Connection) -> None:
        """Run every part in one statement (nothing at all if there is no part)."""
        if self._parts:
            await conn.execute(self.sql, *self._args)

    async def fetchrow(
        self, conn: asyncpg.Connection | asyncpg.Pool, select: str
    ) -> asyncpg.Record | None:
        """Run every part, then ``select``; its first row, or None if it has none."""
        assert self._parts, "a statement of no parts"
        return await conn.fetchrow(self._with(select), *self._args)

    async def fetchval(self, conn: asyncpg.Connection | asyncpg.Pool, select: str) -> Any:
        """Run every part, then ``select`` (which may read the parts by name); its first
        value, or None if it has no row."""
        assert self._parts, "a statement of no parts"
        return await conn.fetchval(self._with(select), *self._args)
