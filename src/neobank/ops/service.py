"""Ops use cases: maker-checker changes to the loan catalog and the credit policy, and the
audit log. Each runs in the caller's transaction and writes its audit row and
its event there."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg

from neobank.customers.errors import Forbidden
from neobank.events import EventRow, write_events
from neobank.lending import catalog
from neobank.ops.deps import OpsActor
from neobank.ops.errors import (
    ChangeNotFound,
    ChangeNotPending,
    ChangeOutOfOrder,
    ChangeStale,
    FourEyesRequired,
    InvalidChangeTarget,
    InvalidEffectiveAt,
)
from neobank.ops.terms import checked_terms
from neobank.pagination import decode_cursor, encode_cursor

__all__ = [
    "POLICY_TARGET",
    "approve_change",
    "cancel_change",
    "get_change",
    "list_audit",
    "list_changes",
    "propose_change",
    "record",
    "reject_change",
    "write_audit",
]

POLICY_TARGET = "policy"
EFFECTIVE_AT_HORIZON_DAYS = 366
# "Now" as the maker's clock saw it is a moment ago here: that much past is taken as now.
EFFECTIVE_AT_GRACE_S = 60
# "The latest version", scheduled ones included: what a new version follows.
_LATEST = datetime(9999, 12, 31, tzinfo=UTC)


async def write_audit(
    conn: asyncpg.Connection,
    actor: str,
    action: str,
    subject: str,
    detail: dict[str, Any],
    at: datetime,
) -> None:
    await conn.execute(
        "INSERT INTO audit_log (at, actor, action, subject, detail) VALUES ($1, $2, $3, $4, $5)",
        at,
        actor,
        action,
        subject,
        detail,
    )


async def record(
    conn: asyncpg.Connection,
    actor: OpsActor,
    action: str,
    subject: str,
    detail: dict[str, Any],
    event: EventRow,
    at: datetime,
) -> None:
    await write_audit(conn, actor.name, action, subject, detail, at)
    await write_events(conn, [event], at)


# --- changes -----------------------------------------------------------------------------


def change_out(row: asyncpg.Record, now: datetime) -> dict[str, Any]:
    status = row["status"]
    if status == "approved" and row["effective_at"] <= now:
        status = "effective"
    body = row["body"]
    decided_at = row["decided_at"]
    return {
        "id": str(row["id"]),
        "kind": row["kind"],
        "target": row["target"],
        "status": status,
        "body": body["terms"],
        "base_version": body["base_version"],
        "diff": body["diff"],
        "effective_at": row["effective_at"].isoformat(),
        "proposed_by": row["proposed_by"],
        "proposed_at": row["proposed_at"].isoformat(),
        "decided_by": row["decided_by"],
        "decided_at": decided_at.isoformat() if decided_at else None,
        "comment": row["comment"],
        "applied_version": row["applied_version"],
    }


async def propose_change(
    conn: asyncpg.Connection,
    actor: OpsActor,
    kind: str,
    target: str,
    body: dict[str, Any],
    effective_at: datetime | None,
    now: datetime,
) -> dict[str, Any]:
    """Propose new terms, merged over the latest version, for a second person to approve."""
    effective = _effective_at(effective_at, now)
    base_version, base = await _latest_terms(conn, kind, target)
    codes = {p.code for p in await catalog.list_products(conn, _LATEST)}
    terms, diff = checked_terms(kind, target, base_version, base, body, codes)
    change_id = uuid.uuid4()
    row = await conn.fetchrow(
        """
        INSERT INTO ops_changes (id, kind, target, body, status, effective_at, proposed_by,
                                 proposed_at)
        VALUES ($1, $2, $3, $4, 'proposed', $5, $6, $7) RETURNING *
        """,
        change_id,
        kind,
        target,
        {"terms": terms, "base_version": base_version, "diff": diff},
        effective,
        actor.name,
        now,
    )
    out = change_out(row, now)
    detail = {"kind": kind, "target": target, "base_version": base_version, "diff": diff}
    event = EventRow("ops.change_proposed", "ops_change", out["id"], out)
    await record(conn, actor, "ops_change.proposed", _subject(change_id), detail, event, now)
    return out


async def _latest_terms(
    conn: asyncpg.Connection, kind: str, target: str
) -> tuple[int, dict[str, Any]]:
    """The latest version (scheduled ones included) of what a change targets, and its terms."""
    if kind == "credit_policy":
        if target != POLICY_TARGET:
            raise InvalidChangeTarget(f'a credit_policy change targets "{POLICY_TARGET}"')
        policy = await catalog.current_policy(conn, _LATEST)
        return policy.version, policy.to_data()
    # An unknown code is refused (422 loan_product_not_found): a typo must not open a product.
    product = await catalog.current_product(conn, target, _LATEST)
    return product.version, product.to_data()


def _effective_at(requested: datetime | None, now: datetime) -> datetime:
    if requested is None:
        return now
    if requested < now - timedelta(seconds=EFFECTIVE_AT_GRACE_S):
        raise InvalidEffectiveAt("effective_at is in the past")
    if requested > now + timedelta(days=EFFECTIVE_AT_HORIZON_DAYS):
        raise InvalidEffectiveAt(
            f"effective_at is more than {EFFECTIVE_AT_HORIZON_DAYS} days ahead"
        )
    return max(requested, now)


def _subject(change_id: uuid.UUID) -> str:
    return f"ops_change:{change_id}"


async def _pending(
    conn: asyncpg.Connection, change_id: uuid.UUID, actor: OpsActor, *, own: bool
) -> asyncpg.Record:
    """The change, locked, still proposed, and the actor's own (cancel) or someone else's."""
    row = await conn.fetchrow("SELECT * FROM ops_changes WHERE id = $1 FOR UPDATE", change_id)
    if row is None:
        raise ChangeNotFound()
    mine = row["proposed_by"] == actor.name
    if own and not mine:
        raise Forbidden("only the proposer may cancel a change")
    if row["status"] != "proposed":
        raise ChangeNotPending(f"the change is {row['status']}")
    if not own and mine:
        raise FourEyesRequired()
    return row


async def approve_change(
    conn: asyncpg.Connection,
    actor: OpsActor,
    change_id: uuid.UUID,
    comment: str | None,
    now: datetime,
) -> dict[str, Any]:
    """Approve a change: its version enters the catalog, in force from its effective_at (or
    now, if that has passed while it waited)."""
    row = await _pending(conn, change_id, actor, own=False)
    kind, target, body = row["kind"], row["target"], row["body"]
    effective = max(row["effective_at"], now)
    latest_effective_at = await _latest_effective_at(conn, kind, target)
    if latest_effective_at is not None and latest_effective_at > effective:
        # The catalog serves the highest version in force: this one would cut the
        # scheduled one short and then hide it, without anyone having approved that.
        raise ChangeOutOfOrder(f"version in force from {latest_effective_at.isoformat()}")
    if kind == "loan_product":
        version = await catalog.add_product_version(
            conn, target, body["terms"], effective, change_id
        )
    else:
        version = await catalog.add_policy_version(conn, body["terms"], effective, change_id)
    if version != body["base_version"] + 1:
        # Another version came since the proposal: these terms were merged over an old one.
        raise ChangeStale(f"latest version is {version - 1}, proposed over {body['base_version']}")
    row = await conn.fetchrow(
        """
        UPDATE ops_changes SET status = 'approved', decided_by = $2, decided_at = $3,
            comment = $4, applied_version = $5, effective_at = $6
        WHERE id = $1 RETURNING *
        """,
        change_id,
        actor.name,
        now,
        comment,
        version,
        effective,
    )
    out = change_out(row, now)
    detail = {"applied_version": version, "effective_at": effective.isoformat()}
    event = EventRow("ops.change_approved", "ops_change", out["id"], out)
    await record(conn, actor, "ops_change.approved", _subject(change_id), detail, event, now)
    # The catalog's own history, readable by ?subject=loan_product:<code> or credit_policy.
    subject = f"loan_product:{target}" if kind == "loan_product" else "credit_policy"
    detail = {**detail, "change_id": str(change_id), "diff": body["diff"]}
    await write_audit(conn, actor.name, "catalog.version_added", subject, detail, now)
    return out


async def _latest_effective_at(conn: asyncpg.Connection, kind: str, target: str) -> datetime | None:
    if kind == "loan_product":
        value: datetime | None = await conn.fetchval(
            "SELECT max(effective_at) FROM loan_product_versions WHERE code = $1", target
        )
        return value
    value = await conn.fetchval("SELECT max(effective_at) FROM credit_policy_versions")
    return value


async def _close(
    conn: asyncpg.Connection,
    actor: OpsActor,
    change_id: uuid.UUID,
    status: str,
    comment: str | None,
    now: datetime,
) -> dict[str, Any]:
    row = await _pending(conn, change_id, actor, own=status == "cancelled")
    row = await conn.fetchrow(
        """
        UPDATE ops_changes SET status = $2, decided_by = $3, decided_at = $4, comment = $5
        WHERE id = $1 RETURNING *
        """,
        change_id,
        status,
        # The proposer cancelling is not a decision by a second person (and the four-eyes
        # constraint keeps decided_by apart from proposed_by).
        None if status == "cancelled" else actor.name,
        now,
        comment,
    )
    out = change_out(row, now)
    event = EventRow(f"ops.change_{status}", "ops_change", out["id"], out)
    detail = {"comment": comment}
    await record(conn, actor, f"ops_change.{status}", _subject(change_id), detail, event, now)
    return out


async def reject_change(
    conn: asyncpg.Connection, actor: OpsActor, change_id: uuid.UUID, comment: str, now: datetime
) -> dict[str, Any]:
    return await _close(conn, actor, change_id, "rejected", comment, now)


async def cancel_change(
    conn: asyncpg.Connection, actor: OpsActor, change_id: uuid.UUID, now: datetime
) -> dict[str, Any]:
    return await _close(conn, actor, change_id, "cancelled", None, now)


async def get_change(
    conn: asyncpg.Connection | asyncpg.Pool, change_id: uuid.UUID, now: datetime
) -> dict[str, Any]:
    row = await conn.fetchrow("SELECT * FROM ops_changes WHERE id = $1", change_id)
    if row is None:
        raise ChangeNotFound()
    return change_out(row, now)


async def list_changes(
    conn: asyncpg.Connection | asyncpg.Pool,
    status: str | None,
    limit: int,
    cursor: str | None,
    now: datetime,
) -> dict[str, Any]:
    """Newest first. "approved" and "effective" are both stored as approved; effective_at
    tells them apart."""
    offset = decode_cursor(cursor) or 0
    stored = "approved" if status == "effective" else status
    in_force = {"approved": False, "effective": True}.get(status or "")
    rows = await conn.fetch(
        """
        SELECT * FROM ops_changes
        WHERE ($1::text IS NULL OR status = $1)
          AND ($2::bool IS NULL OR (effective_at <= $3) = $2)
        ORDER BY proposed_at DESC, id DESC LIMIT $4 OFFSET $5
        """,
        stored,
        in_force,
        now,
        limit + 1,
        offset,
    )
    more = len(rows) > limit
    return {
        "items": [change_out(r, now) for r in rows[:limit]],
        "next_cursor": encode_cursor(offset + limit) if more else None,
    }


async def list_audit(
    conn: asyncpg.Connection | asyncpg.Pool, subject: str | None, limit: int, cursor: str | None
) -> dict[str, Any]:
    """Newest first; the cursor is the last seq shown."""
    before = decode_cursor(cursor)
    rows = await conn.fetch(
        """
        SELECT seq, at, actor, action, subject, detail FROM audit_log
        WHERE ($1::text IS NULL OR subject = $1) AND ($2::bigint IS NULL OR seq < $2)
        ORDER BY seq DESC LIMIT $3
        """,
        subject,
        before,
        limit + 1,
    )
    items = [{**dict(r), "at": r["at"].isoformat()} for r in rows[:limit]]
    more = len(rows) > limit
    return {"items": items, "next_cursor": encode_cursor(items[-1]["seq"]) if more else None}
