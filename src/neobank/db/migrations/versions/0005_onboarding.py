"""Onboarding applications (identity check, 1-won account check, what they opened).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-24
"""

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

TABLES = """
CREATE TABLE onboardings (
    id uuid PRIMARY KEY,
    ticket_id varchar(64) NOT NULL UNIQUE,
    status varchar(16) NOT NULL
        CHECK (status IN ('in_progress', 'ready', 'completed', 'failed')),
    name varchar(200) NOT NULL,
    birth_date date NOT NULL,
    phone varchar(32) NOT NULL,
    resident_id_sealed bytea NOT NULL,
    resident_id_digest bytea NOT NULL,
    resident_id_masked varchar(16) NOT NULL,
    device_public_key bytea NOT NULL,
    id_status varchar(16) NOT NULL
        CHECK (id_status IN ('not_started', 'pending', 'passed', 'failed')),
    id_reason varchar(64),
    id_card_issue_date date,
    id_verification_id varchar(64),
    id_requested_at timestamptz,
    id_checked_at timestamptz,
    acct_status varchar(16) NOT NULL
        CHECK (acct_status IN ('not_started', 'pending', 'sent', 'passed', 'failed')),
    acct_bank_code varchar(3),
    acct_number varchar(20),
    acct_code_salt bytea,
    acct_tries_left integer NOT NULL CHECK (acct_tries_left >= 0),
    acct_credit_id varchar(64),
    acct_requested_at timestamptz,
    acct_sent_at timestamptz,
    customer_id uuid REFERENCES customers (id),
    device_id uuid REFERENCES devices (id),
    account_id uuid REFERENCES accounts (id),
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    CHECK (status <> 'completed' OR (customer_id IS NOT NULL AND device_id IS NOT NULL
                                     AND account_id IS NOT NULL))
);
CREATE UNIQUE INDEX ux_onboardings_completed_resident ON onboardings (resident_id_digest)
    WHERE status = 'completed';
CREATE INDEX ix_onboardings_resident ON onboardings (resident_id_digest);
"""


def upgrade() -> None:
    op.execute(TABLES)


def downgrade() -> None:
    op.execute("DROP TABLE IF EXISTS onboardings")
