"""Lending: the versioned loan catalog and credit policy, applications, loans, installments,
repayments, close-of-business runs; ops users, maker-checker changes and the audit log; and
the overdraft limit of a ledger account (the "minus account").

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25
"""

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

LEDGER = """
ALTER TABLE ledger_accounts ADD COLUMN overdraft_limit bigint NOT NULL DEFAULT 0;
ALTER TABLE ledger_accounts ADD CONSTRAINT ck_overdraft_limit_nonnegative
    CHECK (overdraft_limit >= 0);
ALTER TABLE ledger_accounts DROP CONSTRAINT ck_debits_must_not_exceed_credits;
ALTER TABLE ledger_accounts ADD CONSTRAINT ck_debits_must_not_exceed_credits
    CHECK ((flags & 1) = 0 OR debits_posted + debits_pending <= credits_posted + overdraft_limit);
"""

CATALOG = """
CREATE TABLE loan_product_versions (
    code varchar(32) NOT NULL,
    version integer NOT NULL,
    effective_at timestamptz NOT NULL,
    body jsonb NOT NULL,
    change_id uuid,
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT pk_loan_product_versions PRIMARY KEY (code, version)
);
CREATE TABLE credit_policy_versions (
    version integer PRIMARY KEY,
    effective_at timestamptz NOT NULL,
    body jsonb NOT NULL,
    change_id uuid,
    created_at timestamptz NOT NULL DEFAULT now()
);
"""

APPLICATIONS = """
CREATE TABLE loan_applications (
    id uuid PRIMARY KEY,
    customer_id uuid NOT NULL REFERENCES customers (id),
    account_id uuid NOT NULL REFERENCES accounts (id),
    product_code varchar(32) NOT NULL,
    product_version integer NOT NULL,
    policy_version integer,
    amount bigint NOT NULL,
    term_months integer NOT NULL,
    annual_income bigint,
    resident_id_sealed bytea,
    status varchar(16) NOT NULL,
    stage varchar(16) NOT NULL,
    inquiry_key varchar(64) NOT NULL UNIQUE,
    bureau jsonb,
    guarantee jsonb,
    rate_bps integer,
    limit_minor bigint,
    reasons varchar(32)[],
    cancel_reason varchar(32),
    agency_attempts integer NOT NULL DEFAULT 0,
    last_agency_error varchar(200),
    offer_expires_at timestamptz,
    loan_id uuid,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    decided_at timestamptz,
    CONSTRAINT ck_loan_applications_status
        CHECK (status IN ('pending', 'approved', 'declined', 'accepted', 'cancelled')),
    CONSTRAINT ck_loan_applications_stage
        CHECK (stage IN ('queued', 'bureau', 'guarantee', 'deciding', 'decided')),
    CONSTRAINT ck_loan_applications_terms CHECK (amount > 0 AND term_months > 0)
);
CREATE INDEX ix_loan_applications_customer ON loan_applications (customer_id, created_at);
CREATE INDEX ix_loan_applications_offers ON loan_applications (offer_expires_at)
    WHERE status = 'approved';
"""

LOANS = """
CREATE TABLE loans (
    id uuid PRIMARY KEY,
    application_id uuid NOT NULL UNIQUE REFERENCES loan_applications (id),
    customer_id uuid NOT NULL REFERENCES customers (id),
    account_id uuid NOT NULL REFERENCES accounts (id),
    product_code varchar(32) NOT NULL,
    product_version integer NOT NULL,
    kind varchar(16) NOT NULL,
    method varchar(16),
    currency varchar(3) NOT NULL,
    principal bigint NOT NULL,
    rate_bps integer NOT NULL,
    late_rate_bps integer NOT NULL,
    term_months integer NOT NULL,
    start_date date NOT NULL,
    maturity_date date NOT NULL,
    status varchar(16) NOT NULL,
    receivable_account_id uuid REFERENCES ledger_accounts (id),
    interest_account_id uuid REFERENCES ledger_accounts (id),
    accrued_interest numeric(24, 6) NOT NULL DEFAULT 0,
    interest_booked bigint NOT NULL DEFAULT 0,
    late_interest_accrued numeric(24, 6) NOT NULL DEFAULT 0,
    late_interest_booked bigint NOT NULL DEFAULT 0,
    days_past_due integer NOT NULL DEFAULT 0,
    delinquency_bucket varchar(8) NOT NULL DEFAULT 'current',
    last_cob_date date,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    closed_at timestamptz,
    CONSTRAINT ck_loans_kind CHECK (kind IN ('installment', 'revolving')),
    CONSTRAINT ck_loans_status CHECK (status IN ('active', 'closed')),
    CONSTRAINT ck_loans_bucket
        CHECK (delinquency_bucket IN ('current', '1-30', '31-60', '61-90', '90+')),
    CONSTRAINT ck_loans_principal CHECK (principal > 0)
);
CREATE INDEX ix_loans_customer ON loans (customer_id);
CREATE INDEX ix_loans_cob ON loans (last_cob_date) WHERE status = 'active';
CREATE TABLE loan_installments (
    loan_id uuid NOT NULL REFERENCES loans (id),
    number integer NOT NULL,
    due_date date NOT NULL,
    principal_due bigint NOT NULL,
    interest_due bigint NOT NULL,
    principal_paid bigint NOT NULL DEFAULT 0,
    interest_paid bigint NOT NULL DEFAULT 0,
    status varchar(16) NOT NULL,
    paid_at timestamptz,
    CONSTRAINT pk_loan_installments PRIMARY KEY (loan_id, number),
    CONSTRAINT ck_loan_installments_status
        CHECK (status IN ('scheduled', 'due', 'overdue', 'paid', 'cancelled')),
    CONSTRAINT ck_loan_installments_paid
        CHECK (principal_paid BETWEEN 0 AND principal_due
               AND interest_paid BETWEEN 0 AND interest_due)
);
CREATE TABLE loan_repayments (
    id uuid PRIMARY KEY,
    loan_id uuid NOT NULL REFERENCES loans (id),
    from_account_id uuid NOT NULL REFERENCES accounts (id),
    amount bigint NOT NULL,
    fees_minor bigint NOT NULL,
    interest_minor bigint NOT NULL,
    principal_minor bigint NOT NULL,
    kind varchar(16) NOT NULL,
    created_at timestamptz NOT NULL,
    CONSTRAINT ck_loan_repayments_amount CHECK (amount > 0),
    CONSTRAINT ck_loan_repayments_split
        CHECK (fees_minor + interest_minor + principal_minor = amount)
);
CREATE INDEX ix_loan_repayments_loan ON loan_repayments (loan_id, created_at);
CREATE TABLE close_of_business_runs (
    business_date date PRIMARY KEY,
    status varchar(16) NOT NULL,
    loans_done integer NOT NULL DEFAULT 0,
    started_at timestamptz NOT NULL,
    completed_at timestamptz,
    CONSTRAINT ck_cob_runs_status CHECK (status IN ('running', 'completed'))
);
"""

OPS = """
CREATE TABLE ops_users (
    id uuid PRIMARY KEY,
    name varchar(64) NOT NULL UNIQUE,
    roles varchar(32)[] NOT NULL,
    token_digest bytea NOT NULL UNIQUE,
    created_by varchar(64) NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    disabled_at timestamptz
);
CREATE TABLE ops_changes (
    id uuid PRIMARY KEY,
    kind varchar(32) NOT NULL,
    target varchar(32) NOT NULL,
    body jsonb NOT NULL,
    status varchar(16) NOT NULL,
    effective_at timestamptz NOT NULL,
    proposed_by varchar(64) NOT NULL,
    proposed_at timestamptz NOT NULL,
    decided_by varchar(64),
    decided_at timestamptz,
    comment varchar(500),
    applied_version bigint,
    CONSTRAINT ck_ops_changes_status
        CHECK (status IN ('proposed', 'approved', 'rejected', 'cancelled')),
    CONSTRAINT ck_ops_changes_four_eyes CHECK (decided_by IS NULL OR decided_by <> proposed_by)
);
CREATE INDEX ix_ops_changes_status ON ops_changes (status, proposed_at);
CREATE TABLE audit_log (
    seq bigserial PRIMARY KEY,
    at timestamptz NOT NULL DEFAULT now(),
    actor varchar(64) NOT NULL,
    action varchar(64) NOT NULL,
    subject varchar(128) NOT NULL,
    detail jsonb NOT NULL
);
CREATE INDEX ix_audit_log_subject ON audit_log (subject, seq);
"""


def upgrade() -> None:
    for script in (LEDGER, CATALOG, APPLICATIONS, LOANS, OPS):
        op.execute(script)


def downgrade() -> None:
    op.execute(
        "DROP TABLE IF EXISTS audit_log, ops_changes, ops_users, close_of_business_runs, "
        "loan_repayments, loan_installments, loans, loan_applications, credit_policy_versions, "
        "loan_product_versions"
    )
    op.execute(
        "ALTER TABLE ledger_accounts DROP CONSTRAINT ck_debits_must_not_exceed_credits;"
        "ALTER TABLE ledger_accounts ADD CONSTRAINT ck_debits_must_not_exceed_credits "
        "CHECK ((flags & 1) = 0 OR debits_posted + debits_pending <= credits_posted);"
        "ALTER TABLE ledger_accounts DROP CONSTRAINT ck_overdraft_limit_nonnegative;"
        "ALTER TABLE ledger_accounts DROP COLUMN overdraft_limit"
    )
