"""asyncpg connection pools with JSON codecs (orjson) installed on every connection."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg
import orjson

from neobank.db.urls import asyncpg_url

__all__ = ["create_pool"]


def _encode_json(value: Any) -> str:
    # A naive datetime is UTC, as asyncpg takes it for a timestamptz parameter: the rows of a
    # statement go as JSON (`WriteStatement.rows`), and PostgreSQL would read it in the
    # session's time zone.
    return orjson.dumps(value, default=_json_default, option=orjson.OPT_NAIVE_UTC).decode()


def _json_default(value: Any) -> Any:
    """What orjson leaves to us: asyncpg's own UUID type (ids read from the database), which
    orjson does not take for a `uuid.UUID`."""
    if isinstance(value, uuid.UUID):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


async def _init_connection(conn: asyncpg.Connection) -> None:
    for type_name in ("json", "jsonb"):
        await conn.set_type_codec(
            type_name, encoder=_encode_json, decoder=orjson.loads, schema="pg_catalog"
        )


async def _keep_session(conn: asyncpg.Connection) -> None:
    """Nothing to reset: neobank's pooled connections keep no session state (no SET, LISTEN,
    or advisory lock outside a transaction; asyncpg still rolls back an open transaction).
    The default reset costs a round trip on every release: ~5% of a sign-up's CPU, measured
    with py-spy during a launch-day surge."""


# Every execution is planned for its arguments. PostgreSQL otherwise switches a prepared
# statement to one generic plan after five runs and keeps it until the tables are analyzed
# again: a batch's lookup first run with 8,190 ids while the table was small kept scanning the
# whole table for one id once it held 160,000 transfers (single transfers ~870/s instead of
# ~2,300/s after a batch run; tests/db/test_sql_plans.py). Our statements plan in well under a
# millisecond; sent with the connection, so it costs no round trip.
PLAN_CACHE_MODE = "force_custom_plan"


async def create_pool(database_url: str, *, min_size: int = 2, max_size: int = 10) -> asyncpg.Pool:
    pool = await asyncpg.create_pool(
        asyncpg_url(database_url),
        min_size=min_size,
        max_size=max_size,
        init=_init_connection,
        reset=_keep_session,
        command_timeout=60,
        server_settings={"plan_cache_mode": PLAN_CACHE_MODE},
    )
    assert pool is not None
    return pool
