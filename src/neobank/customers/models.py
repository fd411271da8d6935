"""Customer tables: profiles, their devices (Ed25519 keys) and single-use auth challenges."""

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

customers = Table(
    "customers",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("name", String(200), nullable=False),
    Column("birth_date", Date, nullable=False),
    Column("phone", String(32), nullable=False),
    Column("status", String(16), nullable=False, server_default=text("'active'")),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=text("now()")),
)

devices = Table(
    "devices",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("customer_id", Uuid, ForeignKey("customers.id"), nullable=False),
    Column("public_key", LargeBinary, nullable=False, unique=True),
    Column("failed_attempts", Integer, nullable=False, server_default=text("0")),
    Column("locked_until", DateTime(timezone=True), nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=text("now()")),
    Index("ix_devices_customer", "customer_id"),
)

auth_challenges = Table(
    "auth_challenges",
    metadata,
    Column("challenge", String(64), primary_key=True),
    Column("device_id", Uuid, ForeignKey("devices.id"), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("used_at", DateTime(timezone=True), nullable=True),
    Index("ix_auth_challenges_expires_at", "expires_at"),
    Index("ix_auth_challenges_device", "device_id"),
)

bank_secrets = Table(
    "bank_secrets",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("value", String(256), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=text("now()")),
)
