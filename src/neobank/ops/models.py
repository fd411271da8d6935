"""Ops tables: users with roles and hashed bearer tokens, proposed changes that need a second
person's approval, and the append-only audit log."""

from __future__ import annotations

from sqlalchemy import (
    ARRAY,
    BigInteger,
    CheckConstraint,
    Column,
    DateTime,
    Index,
    LargeBinary,
    String,
    Table,
    Uuid,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB

from neobank.db.metadata import metadata

__all__ = ["audit_log", "ops_changes", "ops_users"]

ops_users = Table(
    "ops_users",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("name", String(64), nullable=False, unique=True),
    Column("roles", ARRAY(String(32)), nullable=False),
    # SHA-256 of the bearer token: the token itself is shown once, at creation.
    Column("token_digest", LargeBinary, nullable=False, unique=True),
    Column("created_by", String(64), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=text("now()")),
    Column("disabled_at", DateTime(timezone=True), nullable=True),
)

ops_changes = Table(
    "ops_changes",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("kind", String(32), nullable=False),
    Column("target", String(32), nullable=False),
    Column("body", JSONB, nullable=False),
    Column("status", String(16), nullable=False),
    Column("effective_at", DateTime(timezone=True), nullable=False),
    Column("proposed_by", String(64), nullable=False),
    Column("proposed_at", DateTime(timezone=True), nullable=False),
    Column("decided_by", String(64), nullable=True),
    Column("decided_at", DateTime(timezone=True), nullable=True),
    Column("comment", String(500), nullable=True),
    Column("applied_version", BigInteger, nullable=True),
    CheckConstraint(
        "status IN ('proposed', 'approved', 'rejected', 'cancelled')", name="ck_ops_changes_status"
    ),
    CheckConstraint(
        "decided_by IS NULL OR decided_by <> proposed_by", name="ck_ops_changes_four_eyes"
    ),
    Index("ix_ops_changes_status", "status", "proposed_at"),
)

audit_log = Table(
    "audit_log",
    metadata,
    Column("seq", BigInteger, primary_key=True, autoincrement=True),
    Column("at", DateTime(timezone=True), nullable=False, server_default=text("now()")),
    Column("actor", String(64), nullable=False),
    Column("action", String(64), nullable=False),
    Column("subject", String(128), nullable=False),
    Column("detail", JSONB, nullable=False),
    Index("ix_audit_log_subject", "subject", "seq"),
)
