"""Lending tables: the versioned catalog (products, credit policy), applications, loans with
their installments and repayments, and the close-of-business runs."""

from __future__ import annotations

from sqlalchemy import (
    ARRAY,
    BigInteger,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    Numeric,
    PrimaryKeyConstraint,
    String,
    Table,
    Uuid,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB

from neobank.db.metadata import metadata

__all__ = [
    "close_of_business_runs",
    "credit_policy_versions",
    "loan_applications",
    "loan_installments",
    "loan_product_versions",
    "loan_repayments",
    "loans",
]

# A product's terms as data: a new version (maker-checker approved) takes over at effective_at.
loan_product_versions = Table(
    "loan_product_versions",
    metadata,
    Column("code", String(32), nullable=False),
    Column("version", Integer, nullable=False),
    Column("effective_at", DateTime(timezone=True), nullable=False),
    Column("body", JSONB, nullable=False),
    Column("change_id", Uuid, nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=text("now()")),
    PrimaryKeyConstraint("code", "version", name="pk_loan_product_versions"),
)

credit_policy_versions = Table(
    "credit_policy_versions",
    metadata,
    Column("version", Integer, primary_key=True, autoincrement=False),
    Column("effective_at", DateTime(timezone=True), nullable=False),
    Column("body", JSONB, nullable=False),
    Column("change_id", Uuid, nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=text("now()")),
)

loan_applications = Table(
    "loan_applications",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("customer_id", Uuid, ForeignKey("customers.id"), nullable=False),
    Column("account_id", Uuid, ForeignKey("accounts.id"), nullable=False),
    Column("product_code", String(32), nullable=False),
    Column("product_version", Integer, nullable=False),
    Column("policy_version", Integer, nullable=True),
    Column("amount", BigInteger, nullable=False),
    Column("term_months", Integer, nullable=False),
    # Optional in the API: without it the policy caps the limit instead of checking DTI.
    Column("annual_income", BigInteger, nullable=True),
    # Sealed like the onboarding's (AES-GCM), when the customer has no onboarding on file.
    Column("resident_id_sealed", LargeBinary, nullable=True),
    Column("status", String(16), nullable=False),
    # Where a pending application is, honestly: queued, bureau, guarantee, deciding; then decided.
    Column("stage", String(16), nullable=False),
    # One hard inquiry per application: this key is sent on every retry of the bureau call.
    Column("inquiry_key", String(64), nullable=False, unique=True),
    Column("bureau", JSONB, nullable=True),
    Column("guarantee", JSONB, nullable=True),
    Column("rate_bps", Integer, nullable=True),
    Column("limit_minor", BigInteger, nullable=True),
    Column("reasons", ARRAY(String(32)), nullable=True),
    Column("cancel_reason", String(32), nullable=True),
    Column("agency_attempts", Integer, nullable=False, server_default=text("0")),
    Column("last_agency_error", String(200), nullable=True),
    Column("offer_expires_at", DateTime(timezone=True), nullable=True),
    Column("loan_id", Uuid, nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("decided_at", DateTime(timezone=True), nullable=True),
    CheckConstraint(
        "status IN ('pending', 'approved', 'declined', 'accepted', 'cancelled')",
        name="ck_loan_applications_status",
    ),
    CheckConstraint(
        "stage IN ('queued', 'bureau', 'guarantee', 'deciding', 'decided')",
        name="ck_loan_applications_stage",
    ),
    CheckConstraint("amount > 0 AND term_months > 0", name="ck_loan_applications_terms"),
    Index("ix_loan_applications_customer", "customer_id", "created_at"),
    Index(
        "ix_loan_applications_offers",
        "offer_expires_at",
        postgresql_where=text("status = 'approved'"),
    ),
)

loans = Table(
    "loans",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("application_id", Uuid, ForeignKey("loan_applications.id"), nullable=False, unique=True),
    Column("customer_id", Uuid, ForeignKey("customers.id"), nullable=False),
    Column("account_id", Uuid, ForeignKey("accounts.id"), nullable=False),
    Column("product_code", String(32), nullable=False),
    Column("product_version", Integer, nullable=False),
    Column("kind", String(16), nullable=False),
    Column("method", String(16), nullable=True),
    Column("currency", String(3), nullable=False),
    # An installment loan's principal; a revolving line's credit limit.
    Column("principal", BigInteger, nullable=False),
    Column("rate_bps", Integer, nullable=False),
    Column("late_rate_bps", Integer, nullable=False),
    Column("term_months", Integer, nullable=False),
    Column("start_date", Date, nullable=False),
    Column("maturity_date", Date, nullable=False),
    Column("status", String(16), nullable=False),
    # The ledger accounts of this loan: principal receivable, interest receivable.
    Column("receivable_account_id", Uuid, ForeignKey("ledger_accounts.id"), nullable=True),
    Column("interest_account_id", Uuid, ForeignKey("ledger_accounts.id"), nullable=True),
    # Exact interest accrued (Actual/365) and the whole won of it already booked.
    Column("accrued_interest", Numeric(24, 6), nullable=False, server_default=text("0")),
    Column("interest_booked", BigInteger, nullable=False, server_default=text("0")),
    Column("late_interest_accrued", Numeric(24, 6), nullable=False, server_default=text("0")),
    Column("late_interest_booked", BigInteger, nullable=False, server_default=text("0")),
    Column("days_past_due", Integer, nullable=False, server_default=text("0")),
    Column("delinquency_bucket", String(8), nullable=False, server_default=text("'current'")),
    Column("last_cob_date", Date, nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("closed_at", DateTime(timezone=True), nullable=True),
    CheckConstraint("kind IN ('installment', 'revolving')", name="ck_loans_kind"),
    CheckConstraint("status IN ('active', 'closed')", name="ck_loans_status"),
    CheckConstraint(
        "delinquency_bucket IN ('current', '1-30', '31-60', '61-90', '90+')",
        name="ck_loans_bucket",
    ),
    CheckConstraint("principal > 0", name="ck_loans_principal"),
    Index("ix_loans_customer", "customer_id"),
    Index("ix_loans_cob", "last_cob_date", postgresql_where=text("status = 'active'")),
)

loan_installments = Table(
    "loan_installments",
    metadata,
    Column("loan_id", Uuid, ForeignKey("loans.id"), nullable=False),
    Column("number", Integer, nullable=False),
    Column("due_date", Date, nullable=False),
    Column("principal_due", BigInteger, nullable=False),
    Column("interest_due", BigInteger, nullable=False),
    Column("principal_paid", BigInteger, nullable=False, server_default=text("0")),
    Column("interest_paid", BigInteger, nullable=False, server_default=text("0")),
    Column("status", String(16), nullable=False),
    Column("paid_at", DateTime(timezone=True), nullable=True),
    PrimaryKeyConstraint("loan_id", "number", name="pk_loan_installments"),
    CheckConstraint(
        "status IN ('scheduled', 'due', 'overdue', 'paid', 'cancelled')",
        name="ck_loan_installments_status",
    ),
    CheckConstraint(
        "principal_paid BETWEEN 0 AND principal_due AND interest_paid BETWEEN 0 AND interest_due",
        name="ck_loan_installments_paid",
    ),
)

loan_repayments = Table(
    "loan_repayments",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("loan_id", Uuid, ForeignKey("loans.id"), nullable=False),
    Column("from_account_id", Uuid, ForeignKey("accounts.id"), nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("fees_minor", BigInteger, nullable=False),
    Column("interest_minor", BigInteger, nullable=False),
    Column("principal_minor", BigInteger, nullable=False),
    Column("kind", String(16), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    CheckConstraint("amount > 0", name="ck_loan_repayments_amount"),
    CheckConstraint(
        "fees_minor + interest_minor + principal_minor = amount", name="ck_loan_repayments_split"
    ),
    Index("ix_loan_repayments_loan", "loan_id", "created_at"),
)

# One row per business date: close of business runs once per date, and resumes where a crash
# left it (each loan records its own last_cob_date in the transaction that processes it).
close_of_business_runs = Table(
    "close_of_business_runs",
    metadata,
    Column("business_date", Date, primary_key=True),
    Column("status", String(16), nullable=False),
    Column("loans_done", Integer, nullable=False, server_default=text("0")),
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("completed_at", DateTime(timezone=True), nullable=True),
    CheckConstraint("status IN ('running', 'completed')", name="ck_cob_runs_status"),
)
