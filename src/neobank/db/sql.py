"""SQL fragments whose shape matters to the planner.

`in_ids`: rows whose key is in an array parameter. Written `key = ANY($1::uuid[])`, a prepared
statement that PostgreSQL has switched to its generic plan may scan the table and compare each
row with every element of the array (the array is a parameter, so it is not hashed): with a
batch's 8,190 ids and a few hundred thousand transfers that took seconds a statement, and grew
with the table. As a semi-join on `unnest(...)` every plan matches the ids by an index or a
hash (tests/db/test_sql_plans.py).
"""

from __future__ import annotations

__all__ = ["in_ids"]


def in_ids(param: str = "$1", sql_type: str = "uuid") -> str:
    """`IN (SELECT unnest($n::type[]))`: put after the key column (`WHERE id {in_ids()}`)."""
    return f"IN (SELECT unnest({param}::{sql_type}[]))"
