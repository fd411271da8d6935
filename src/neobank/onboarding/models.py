"""The onboarding table: one row per application, its two checks and what it opened."""

from __future__ import annotations

from sqlalchemy import (
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Table,
    Uuid,
    text,
)

from neobank.db.metadata import metadata

__all__ = ["onboardings"]

onboardings = Table(
    "onboardings",
    metadata,
    Column("id", Uuid, primary_key=True),
    # The waiting-room ticket whose admission token started it: unique, so a token opens one
    # onboarding however many processes see it.
    Column("ticket_id", String(64), nullable=False, unique=True),
    Column("status", String(16), nullable=False),
    Column("name", String(200), nullable=False),
    Column("birth_date", Date, nullable=False),
    Column("phone", String(32), nullable=False),
    # AES-GCM (nonce || ciphertext) under the bank's resident-id key; the digest is a keyed
    # HMAC for finding the same person again without decrypting anything.
    Column("resident_id_sealed", LargeBinary, nullable=False),
    Column("resident_id_digest", LargeBinary, nullable=False),
    Column("resident_id_masked", String(16), nullable=False),
    Column("device_public_key", LargeBinary, nullable=False),
    Column("id_status", String(16), nullable=False),
    Column("id_reason", String(64), nullable=True),
    Column("id_card_issue_date", Date, nullable=True),
    Column("id_verification_id", String(64), nullable=True),
    Column("id_requested_at", DateTime(timezone=True), nullable=True),
    Column("id_checked_at", DateTime(timezone=True), nullable=True),
    Column("acct_status", String(16), nullable=False),
    Column("acct_bank_code", String(3), nullable=True),
    Column("acct_number", String(20), nullable=True),
    Column("acct_code_salt", LargeBinary, nullable=True),
    Column("acct_tries_left", Integer, nullable=False),
    Column("acct_credit_id", String(64), nullable=True),
    Column("acct_requested_at", DateTime(timezone=True), nullable=True),
    Column("acct_sent_at", DateTime(timezone=True), nullable=True),
    Column("customer_id", Uuid, ForeignKey("customers.id"), nullable=True),
    Column("device_id", Uuid, ForeignKey("devices.id"), nullable=True),
    Column("account_id", Uuid, ForeignKey("accounts.id"), nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    # One completed onboarding per person.
    Index(
        "ux_onboardings_completed_resident",
        "resident_id_digest",
        unique=True,
        postgresql_where=text("status = 'completed'"),
    ),
    Index("ix_onboardings_resident", "resident_id_digest"),
)
