"""Deposit account tables. An account's id is also the id of its ledger account."""

from __future__ import annotations

from sqlalchemy import Column, DateTime, ForeignKey, Index, String, Table, Uuid, text

from neobank.db.metadata import metadata

accounts = Table(
    "accounts",
    metadata,
    Column("id", Uuid, ForeignKey("ledger_accounts.id"), primary_key=True),
    Column("number", String(20), nullable=False, unique=True),
    Column("customer_id", Uuid, ForeignKey("customers.id"), nullable=False),
    Column("product", String(32), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("status", String(16), nullable=False, server_default=text("'active'")),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=text("now()")),
    Index("ix_accounts_customer", "customer_id"),
)
