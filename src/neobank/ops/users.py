"""Ops user use cases: create (the token is shown once), list, disable. Each runs in the
caller's transaction with its audit row and event."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import asyncpg

from neobank.events import EventRow
from neobank.ops.deps import ROLES, OpsActor
from neobank.ops.errors import OpsUserNameTaken, OpsUserNotFound
from neobank.ops.service import record
from neobank.ops.tokens import new_token
from neobank.pagination import decode_cursor, encode_cursor

__all__ = ["create_user", "disable_user", "list_users", "user_out"]

# Never the token digest: nothing outside authentication needs it.
_USER_COLUMNS = "id, name, roles, created_by, created_at, disabled_at"
_USER_SELECT = f"SELECT {_USER_COLUMNS} FROM ops_users"


def user_out(row: asyncpg.Record) -> dict[str, Any]:
    disabled_at = row["disabled_at"]
    return {
        "id": str(row["id"]),
        "name": row["name"],
        "roles": list(row["roles"]),
        "status": "active" if disabled_at is None else "disabled",
        "created_by": row["created_by"],
        "created_at": row["created_at"].isoformat(),
        "disabled_at": disabled_at.isoformat() if disabled_at else None,
    }


async def create_user(
    conn: asyncpg.Connection,
    actor: OpsActor,
    name: str,
    roles: Sequence[str],
    now: datetime,
) -> dict[str, Any]:
    """A new ops user; the answer carries its token, which is stored only as a digest."""
    token, digest = new_token()
    user_id = uuid.uuid4()
    row = await conn.fetchrow(
        f"""
        INSERT INTO ops_users (id, name, roles, token_digest, created_by, created_at)
        VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (name) DO NOTHING
        RETURNING {_USER_COLUMNS}
        """,
        user_id,
        name,
        [role for role in ROLES if role in roles],
        digest,
        actor.name,
        now,
    )
    if row is None:
        raise OpsUserNameTaken()
    out = user_out(row)
    await record(
        conn,
        actor,
        "ops_user.created",
        f"ops_user:{user_id}",
        {"name": name, "roles": out["roles"]},
        EventRow("ops.user_created", "ops_user", out["id"], out),
        now,
    )
    return {**out, "token": token}


async def list_users(
    conn: asyncpg.Connection | asyncpg.Pool, limit: int, cursor: str | None
) -> dict[str, Any]:
    offset = decode_cursor(cursor) or 0
    rows = await conn.fetch(
        _USER_SELECT + " ORDER BY created_at, name LIMIT $1 OFFSET $2", limit + 1, offset
    )
    more = len(rows) > limit
    return {
        "items": [user_out(r) for r in rows[:limit]],
        "next_cursor": encode_cursor(offset + limit) if more else None,
    }


async def disable_user(
    conn: asyncpg.Connection, actor: OpsActor, user_id: uuid.UUID, now: datetime
) -> dict[str, Any]:
    """Disable an ops user: their token stops working at once. Disabling twice changes
    nothing the second time."""
    row = await conn.fetchrow(_USER_SELECT + " WHERE id = $1 FOR UPDATE", user_id)
    if row is None:
        raise OpsUserNotFound()
    if row["disabled_at"] is not None:
        return user_out(row)
    row = await conn.fetchrow(
        f"UPDATE ops_users SET disabled_at = $2 WHERE id = $1 RETURNING {_USER_COLUMNS}",
        user_id,
        now,
    )
    out = user_out(row)
    await record(
        conn,
        actor,
        "ops_user.disabled",
        f"ops_user:{user_id}",
        {"name": out["name"]},
        EventRow("ops.user_disabled", "ops_user", out["id"], out),
        now,
    )
    return out
