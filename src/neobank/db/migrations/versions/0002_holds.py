"""Holds: money reserved on a deposit account until captured, voided or expired.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

TABLES = """
CREATE TABLE holds (
    id uuid PRIMARY KEY,
    account_id uuid NOT NULL,
    amount bigint NOT NULL,
    currency varchar(3) NOT NULL,
    memo varchar(140),
    status varchar(16) NOT NULL DEFAULT 'pending',
    captured_amount bigint,
    resolution_transfer_id uuid,
    timeout_seconds integer NOT NULL,
    expires_at timestamptz NOT NULL,
    created_at timestamptz NOT NULL,
    resolved_at timestamptz,
    CONSTRAINT ck_hold_amount_positive CHECK (amount > 0),
    CONSTRAINT ck_hold_status CHECK (status IN ('pending', 'captured', 'voided')),
    CONSTRAINT ck_hold_captured_amount
        CHECK (captured_amount IS NULL OR captured_amount BETWEEN 1 AND amount)
);
CREATE INDEX ix_holds_account_created ON holds (account_id, created_at);
"""


def upgrade() -> None:
    op.execute(TABLES)


def downgrade() -> None:
    op.execute("DROP TABLE IF EXISTS holds")
