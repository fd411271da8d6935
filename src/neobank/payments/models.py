"""Payment tables: transfers as customers see them (kind, memo, fee), fee rules, promotions,
and holds (money reserved on an account until captured, voided or expired)."""

from __future__ import annotations

from sqlalchemy import (
    ARRAY,
    BigInteger,
    CheckConstraint,
    Column,
    DateTime,
    Identity,
    Index,
    Integer,
    PrimaryKeyConstraint,
    String,
    Table,
    Uuid,
    text,
)

from neobank.db.metadata import metadata

payments = Table(
    "payments",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("kind", String(32), nullable=False),
    Column("from_account_id", Uuid, nullable=True),
    Column("to_account_id", Uuid, nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("memo", String(140), nullable=True),
    Column("fee_amount", BigInteger, nullable=False, server_default=text("0")),
    Column("fee_waived_amount", BigInteger, nullable=False, server_default=text("0")),
    Column("promotion_id", Uuid, nullable=True),
    Column("fee_transfer_id", Uuid, nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    CheckConstraint("fee_amount >= 0 AND fee_waived_amount >= 0", name="ck_fee_nonnegative"),
    Index("ix_payments_created_at", "created_at"),
    Index(
        "ix_payments_fee_transfer",
        "fee_transfer_id",
        postgresql_where=text("fee_transfer_id IS NOT NULL"),
    ),
)

fee_rules = Table(
    "fee_rules",
    metadata,
    Column("kind", String(32), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=text("now()")),
    PrimaryKeyConstraint("kind", "currency", name="pk_fee_rules"),
    CheckConstraint("amount >= 0", name="ck_fee_rule_amount"),
)

promotions = Table(
    "promotions",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("name", String(100), nullable=False),
    Column("kinds", ARRAY(String(32)), nullable=False),
    Column("waive_percent", Integer, nullable=False),
    Column("starts_at", DateTime(timezone=True), nullable=False),
    Column("ends_at", DateTime(timezone=True), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=text("now()")),
    CheckConstraint("waive_percent BETWEEN 0 AND 100", name="ck_promotion_percent"),
    CheckConstraint("ends_at > starts_at", name="ck_promotion_window"),
)

holds = Table(
    "holds",
    metadata,
    # The id of the hold's pending ledger transfer.
    Column("id", Uuid, primary_key=True),
    Column("account_id", Uuid, nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("memo", String(140), nullable=True),
    # pending, captured or voided; "expired" is read from expires_at (the expiry worker voids
    # in the ledger without coming back here).
    Column("status", String(16), nullable=False, server_default=text("'pending'")),
    Column("captured_amount", BigInteger, nullable=True),
    Column("resolution_transfer_id", Uuid, nullable=True),
    Column("timeout_seconds", Integer, nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("resolved_at", DateTime(timezone=True), nullable=True),
    # The order holds were placed in, for the list cursor.
    Column("seq", BigInteger, Identity(always=False), nullable=False),
    CheckConstraint("amount > 0", name="ck_hold_amount_positive"),
    CheckConstraint("status IN ('pending', 'captured', 'voided')", name="ck_hold_status"),
    CheckConstraint(
        "captured_amount IS NULL OR captured_amount BETWEEN 1 AND amount",
        name="ck_hold_captured_amount",
    ),
    Index("ux_holds_account_seq", "account_id", "seq", unique=True),
)
