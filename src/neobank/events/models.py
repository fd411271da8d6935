"""The transactional outbox: one row per state change, written in the change's transaction."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, DateTime, Index, Integer, String, Table, text
from sqlalchemy.dialects.postgresql import JSONB

from neobank.db.metadata import metadata

events = Table(
    "events",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    Column("type", String(64), nullable=False),
    Column("schema_version", Integer, nullable=False),
    Column("aggregate_type", String(32), nullable=False),
    Column("aggregate_id", String(64), nullable=False),
    Column("payload", JSONB, nullable=False),
    Column("occurred_at", DateTime(timezone=True), nullable=False, server_default=text("now()")),
    Index("ix_events_aggregate", "aggregate_type", "aggregate_id"),
)
