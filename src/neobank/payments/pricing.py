"""Fee rules, promotions and the fee report (what was charged, what the waivers cost)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import asyncpg

from neobank.events import EventRow, Outbox
from neobank.payments.errors import PromotionInvalid
from neobank.payments.schemas import FeeRuleIn, PromotionIn

__all__ = ["create_promotion", "fee_report", "list_promotions", "list_rules", "set_rule"]


async def set_rule(conn: asyncpg.Connection, outbox: Outbox, rule: FeeRuleIn) -> dict[str, Any]:
    row = await conn.fetchrow(
        """
        INSERT INTO fee_rules (kind, currency, amount) VALUES ($1, $2, $3)
        ON CONFLICT (kind, currency) DO UPDATE SET amount = EXCLUDED.amount, updated_at = now()
        RETURNING kind, currency, amount, updated_at
        """,
        rule.kind,
        rule.currency,
        rule.amount,
    )
    assert row is not None
    out = _rule_out(row)
    outbox.add(
        EventRow("fee_rule.set", "fee_rule", f"{rule.kind}:{rule.currency}", out), row["updated_at"]
    )
    return out


def _rule_out(row: asyncpg.Record) -> dict[str, Any]:
    return {
        "kind": row["kind"],
        "currency": row["currency"],
        "amount": row["amount"],
        "updated_at": row["updated_at"].isoformat(),
    }


async def list_rules(conn: asyncpg.Connection | asyncpg.Pool) -> dict[str, Any]:
    rows = await conn.fetch("SELECT * FROM fee_rules ORDER BY kind, currency")
    return {"items": [_rule_out(r) for r in rows], "next_cursor": None}


def _promotion_out(row: asyncpg.Record) -> dict[str, Any]:
    return {
        "id": str(row["id"]),
        "name": row["name"],
        "kinds": list(row["kinds"]),
        "waive_percent": row["waive_percent"],
        "starts_at": row["starts_at"].isoformat(),
        "ends_at": row["ends_at"].isoformat(),
        "created_at": row["created_at"].isoformat(),
    }


async def create_promotion(
    conn: asyncpg.Connection, outbox: Outbox, promo: PromotionIn
) -> dict[str, Any]:
    if promo.starts_at.tzinfo is None or promo.ends_at.tzinfo is None:
        raise PromotionInvalid("starts_at and ends_at need a time zone offset")
    if promo.ends_at <= promo.starts_at:
        raise PromotionInvalid("ends_at must come after starts_at")
    row = await conn.fetchrow(
        "INSERT INTO promotions (id, name, kinds, waive_percent, starts_at, ends_at) "
        "VALUES ($1, $2, $3, $4, $5, $6) RETURNING *",
        uuid.uuid4(),
        promo.name,
        sorted(set(promo.kinds)),
        promo.waive_percent,
        promo.starts_at,
        promo.ends_at,
    )
    assert row is not None
    out = _promotion_out(row)
    outbox.add(EventRow("promotion.created", "promotion", out["id"], out), row["created_at"])
    return out


async def list_promotions(conn: asyncpg.Connection | asyncpg.Pool) -> dict[str, Any]:
    rows = await conn.fetch("SELECT * FROM promotions ORDER BY starts_at DESC LIMIT 200")
    return {"items": [_promotion_out(r) for r in rows], "next_cursor": None}


async def fee_report(
    conn: asyncpg.Connection | asyncpg.Pool,
    start: datetime | None,
    end: datetime | None,
    currency: str,
) -> dict[str, Any]:
    """Fees charged and waived on transfers created in [start, end)."""
    rows = await conn.fetch(
        """
        SELECT kind, sum(fee_amount)::bigint AS charged, sum(fee_waived_amount)::bigint AS waived
        FROM payments
        WHERE currency = $3 AND ($1::timestamptz IS NULL OR created_at >= $1)
          AND ($2::timestamptz IS NULL OR created_at < $2)
          AND (fee_amount > 0 OR fee_waived_amount > 0)
        GROUP BY kind ORDER BY kind
        """,
        start,
        end,
        currency,
    )
    by_kind = {r["kind"]: {"charged": r["charged"], "waived": r["waived"]} for r in rows}
    return {
        "currency": currency,
        "from": start.isoformat() if start else None,
        "to": end.isoformat() if end else None,
        "charged": sum(v["charged"] for v in by_kind.values()),
        "waived": sum(v["waived"] for v in by_kind.values()),
        "by_kind": by_kind,
    }
