"""Ledger tables: accounts with four balance counters, immutable transfers, the journal."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    Index,
    Integer,
    String,
    Table,
    Uuid,
    text,
)

from neobank.db.metadata import metadata

ledger_accounts = Table(
    "ledger_accounts",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("currency", String(3), nullable=False),
    Column("code", Integer, nullable=False),
    Column("flags", Integer, nullable=False, server_default=text("0")),
    Column("debits_posted", BigInteger, nullable=False, server_default=text("0")),
    Column("credits_posted", BigInteger, nullable=False, server_default=text("0")),
    Column("debits_pending", BigInteger, nullable=False, server_default=text("0")),
    Column("credits_pending", BigInteger, nullable=False, server_default=text("0")),
    Column("daily_debit_limit", BigInteger, nullable=True),
    Column("debits_today", BigInteger, nullable=False, server_default=text("0")),
    Column("debits_today_date", Date, nullable=True),
    # How far debits may exceed credits on a DEBITS_MUST_NOT_EXCEED_CREDITS account: an
    # overdraft line's credit limit (a "minus account"); 0 for every other account.
    Column("overdraft_limit", BigInteger, nullable=False, server_default=text("0")),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=text("now()")),
    CheckConstraint("debits_posted >= 0 AND credits_posted >= 0", name="ck_posted_nonnegative"),
    CheckConstraint("overdraft_limit >= 0", name="ck_overdraft_limit_nonnegative"),
    CheckConstraint("debits_pending >= 0 AND credits_pending >= 0", name="ck_pending_nonnegative"),
    CheckConstraint(
        "(flags & 1) = 0 OR debits_posted + debits_pending <= credits_posted + overdraft_limit",
        name="ck_debits_must_not_exceed_credits",
    ),
    CheckConstraint(
        "(flags & 2) = 0 OR credits_posted + credits_pending <= debits_posted",
        name="ck_credits_must_not_exceed_debits",
    ),
)

transfers = Table(
    "transfers",
    metadata,
    Column("id", Uuid, primary_key=True),
    # No foreign keys on the ledger's hot tables: the statement triggers check references in
    # bulk (migration 0007), and accounts are never deleted.
    Column("debit_account_id", Uuid, nullable=False),
    Column("credit_account_id", Uuid, nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("code", Integer, nullable=False),
    Column("flags", Integer, nullable=False),
    Column("pending_id", Uuid, nullable=True),
    Column("timeout_s", Integer, nullable=False, server_default=text("0")),
    Column("expires_at", DateTime(timezone=True), nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    CheckConstraint("amount > 0", name="ck_transfer_amount_positive"),
    CheckConstraint("debit_account_id <> credit_account_id", name="ck_transfer_two_accounts"),
    CheckConstraint(
        "((flags & 2) <> 0)::int + ((flags & 4) <> 0)::int + ((flags & 8) <> 0)::int <= 1",
        name="ck_transfer_one_phase",
    ),
    CheckConstraint(
        "(pending_id IS NOT NULL) = ((flags & 12) <> 0)", name="ck_transfer_pending_id"
    ),
    CheckConstraint("timeout_s >= 0", name="ck_transfer_timeout"),
    Index(
        "ux_transfers_pending_id",
        "pending_id",
        unique=True,
        postgresql_where=text("pending_id IS NOT NULL"),
    ),
    Index(
        "ix_transfers_open_pending",
        "expires_at",
        postgresql_where=text("(flags & 2) <> 0 AND expires_at IS NOT NULL"),
    ),
)

journal_entries = Table(
    "journal_entries",
    metadata,
    Column("seq", BigInteger, primary_key=True, autoincrement=True),
    Column("account_id", Uuid, nullable=False),
    Column("transfer_id", Uuid, nullable=False),
    Column("side", String(1), nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("balance_after", BigInteger, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    CheckConstraint("side IN ('D', 'C')", name="ck_journal_side"),
    CheckConstraint("amount > 0", name="ck_journal_amount_positive"),
    Index("ix_journal_account_seq", "account_id", "seq"),
)

# One row per transaction that touched the books, while it runs: its insert queues the
# deferred check that the transaction's transfers, journal and counters agree at COMMIT
# (see the triggers of migration 0001). Unlogged: it is empty whenever no transaction runs.
ledger_commit_checks = Table(
    "ledger_commit_checks",
    metadata,
    Column("txid", BigInteger, primary_key=True, autoincrement=False),
    prefixes=["UNLOGGED"],
)
