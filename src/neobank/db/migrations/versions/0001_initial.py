"""Initial schema: ledger, customers, deposit accounts, payments, idempotency, events.

Revision ID: 0001
Revises:
Create Date: 2026-11-24
"""

from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

TABLES = """
CREATE TABLE ledger_accounts (
    id uuid PRIMARY KEY,
    currency varchar(3) NOT NULL,
    code integer NOT NULL,
    flags integer NOT NULL DEFAULT 0,
    debits_posted bigint NOT NULL DEFAULT 0,
    credits_posted bigint NOT NULL DEFAULT 0,
    debits_pending bigint NOT NULL DEFAULT 0,
    credits_pending bigint NOT NULL DEFAULT 0,
    daily_debit_limit bigint,
    debits_today bigint NOT NULL DEFAULT 0,
    debits_today_date date,
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT ck_posted_nonnegative CHECK (debits_posted >= 0 AND credits_posted >= 0),
    CONSTRAINT ck_pending_nonnegative CHECK (debits_pending >= 0 AND credits_pending >= 0),
    CONSTRAINT ck_debits_must_not_exceed_credits
        CHECK ((flags & 1) = 0 OR debits_posted + debits_pending <= credits_posted),
    CONSTRAINT ck_credits_must_not_exceed_debits
        CHECK ((flags & 2) = 0 OR credits_posted + credits_pending <= debits_posted)
);

CREATE TABLE transfers (
    id uuid PRIMARY KEY,
    debit_account_id uuid NOT NULL REFERENCES ledger_accounts (id),
    credit_account_id uuid NOT NULL REFERENCES ledger_accounts (id),
    amount bigint NOT NULL,
    currency varchar(3) NOT NULL,
    code integer NOT NULL,
    flags integer NOT NULL,
    pending_id uuid REFERENCES transfers (id),
    timeout_s integer NOT NULL DEFAULT 0,
    expires_at timestamptz,
    created_at timestamptz NOT NULL,
    CONSTRAINT ck_transfer_amount_positive CHECK (amount > 0),
    CONSTRAINT ck_transfer_two_accounts CHECK (debit_account_id <> credit_account_id),
    CONSTRAINT ck_transfer_one_phase
        CHECK (((flags & 2) <> 0)::int + ((flags & 4) <> 0)::int + ((flags & 8) <> 0)::int <= 1),
    CONSTRAINT ck_transfer_pending_id CHECK ((pending_id IS NOT NULL) = ((flags & 12) <> 0)),
    CONSTRAINT ck_transfer_timeout CHECK (timeout_s >= 0)
);
CREATE UNIQUE INDEX ux_transfers_pending_id ON transfers (pending_id) WHERE pending_id IS NOT NULL;
CREATE INDEX ix_transfers_open_pending ON transfers (expires_at)
    WHERE (flags & 2) <> 0 AND expires_at IS NOT NULL;

CREATE TABLE journal_entries (
    seq bigserial PRIMARY KEY,
    account_id uuid NOT NULL REFERENCES ledger_accounts (id),
    transfer_id uuid NOT NULL REFERENCES transfers (id),
    side varchar(1) NOT NULL,
    amount bigint NOT NULL,
    currency varchar(3) NOT NULL,
    balance_after bigint NOT NULL,
    created_at timestamptz NOT NULL,
    CONSTRAINT ck_journal_side CHECK (side IN ('D', 'C')),
    CONSTRAINT ck_journal_amount_positive CHECK (amount > 0)
);
CREATE INDEX ix_journal_account_seq ON journal_entries (account_id, seq);
CREATE INDEX ix_journal_transfer ON journal_entries (transfer_id);

CREATE TABLE customers (
    id uuid PRIMARY KEY,
    name varchar(200) NOT NULL,
    birth_date date NOT NULL,
    phone varchar(32) NOT NULL,
    status varchar(16) NOT NULL DEFAULT 'active',
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE devices (
    id uuid PRIMARY KEY,
    customer_id uuid NOT NULL REFERENCES customers (id),
    public_key bytea NOT NULL UNIQUE,
    failed_attempts integer NOT NULL DEFAULT 0,
    locked_until timestamptz,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX ix_devices_customer ON devices (customer_id);

CREATE TABLE auth_challenges (
    challenge varchar(64) PRIMARY KEY,
    device_id uuid NOT NULL REFERENCES devices (id),
    expires_at timestamptz NOT NULL,
    used_at timestamptz
);

CREATE TABLE bank_secrets (
    name varchar(64) PRIMARY KEY,
    value varchar(256) NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE SEQUENCE account_number_seq START 1;

CREATE TABLE accounts (
    id uuid PRIMARY KEY REFERENCES ledger_accounts (id),
    number varchar(20) NOT NULL UNIQUE,
    customer_id uuid NOT NULL REFERENCES customers (id),
    product varchar(32) NOT NULL,
    currency varchar(3) NOT NULL,
    status varchar(16) NOT NULL DEFAULT 'active',
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX ix_accounts_customer ON accounts (customer_id);

CREATE TABLE payments (
    id uuid PRIMARY KEY,
    kind varchar(32) NOT NULL,
    from_account_id uuid,
    to_account_id uuid NOT NULL,
    amount bigint NOT NULL,
    currency varchar(3) NOT NULL,
    memo varchar(140),
    fee_amount bigint NOT NULL DEFAULT 0,
    fee_waived_amount bigint NOT NULL DEFAULT 0,
    promotion_id uuid,
    fee_transfer_id uuid,
    created_at timestamptz NOT NULL,
    CONSTRAINT ck_fee_nonnegative CHECK (fee_amount >= 0 AND fee_waived_amount >= 0)
);
CREATE INDEX ix_payments_created_at ON payments (created_at);
CREATE INDEX ix_payments_fee_transfer ON payments (fee_transfer_id)
    WHERE fee_transfer_id IS NOT NULL;

CREATE TABLE fee_rules (
    kind varchar(32) NOT NULL,
    currency varchar(3) NOT NULL,
    amount bigint NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT pk_fee_rules PRIMARY KEY (kind, currency),
    CONSTRAINT ck_fee_rule_amount CHECK (amount >= 0)
);

CREATE TABLE promotions (
    id uuid PRIMARY KEY,
    name varchar(100) NOT NULL,
    kinds varchar(32)[] NOT NULL,
    waive_percent integer NOT NULL,
    starts_at timestamptz NOT NULL,
    ends_at timestamptz NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT ck_promotion_percent CHECK (waive_percent BETWEEN 0 AND 100),
    CONSTRAINT ck_promotion_window CHECK (ends_at > starts_at)
);

CREATE TABLE idempotency_keys (
    scope varchar(64) NOT NULL,
    key varchar(255) NOT NULL,
    request_hash bytea NOT NULL,
    status_code integer,
    response jsonb,
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT pk_idempotency_keys PRIMARY KEY (scope, key)
);
CREATE INDEX ix_idempotency_keys_created_at ON idempotency_keys (created_at);

CREATE TABLE events (
    id bigserial PRIMARY KEY,
    type varchar(64) NOT NULL,
    schema_version integer NOT NULL,
    aggregate_type varchar(32) NOT NULL,
    aggregate_id varchar(64) NOT NULL,
    payload jsonb NOT NULL,
    occurred_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX ix_events_aggregate ON events (aggregate_type, aggregate_id);
"""

# The database's half of "double entry is enforced twice" (the engine asserts the other half):
# - every statement that writes journal entries balances per currency, and each entry books
#   its transfer (its account on its side, its amount and currency; holds and voids have none);
# - every statement that writes transfers keeps them in their accounts' currency, and a post
#   or void resolves a pending transfer between the same accounts for no more than it holds;
# - every statement that changes account counters changes debits and credits by the same sum,
#   and an account never changes its id or currency;
# - at COMMIT (a deferred constraint trigger) the amounts posted by the transaction's
#   transfers, its journal and its counters agree, and so do the amounts held (pending);
# - transfers and journal entries are immutable (no update, delete or truncate).
# This migration runs past the usual module length: it is frozen once shipped, and splitting
# it would make part of it importable, and so editable, from elsewhere.
TRIGGERS = """
CREATE UNLOGGED TABLE ledger_commit_checks (txid bigint PRIMARY KEY);

CREATE FUNCTION ledger_add_to_tx_total(name text, delta numeric) RETURNS void
LANGUAGE sql AS $$
    SELECT set_config(name,
        (coalesce(nullif(current_setting(name, true), ''), '0')::numeric + delta)::text, true);
    INSERT INTO ledger_commit_checks (txid) VALUES (txid_current()) ON CONFLICT DO NOTHING;
$$;

CREATE FUNCTION ledger_tx_total(name text) RETURNS numeric LANGUAGE sql STABLE AS $$
    SELECT coalesce(nullif(current_setting(name, true), ''), '0')::numeric;
$$;

CREATE FUNCTION ledger_journal_balanced() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    bad record;
    debits_total numeric;
BEGIN
    SELECT currency INTO bad FROM new_entries GROUP BY currency
        HAVING sum(CASE side WHEN 'D' THEN amount ELSE -amount END) <> 0 LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'ledger: journal entries do not balance in %', bad.currency
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    SELECT e.transfer_id INTO bad FROM new_entries e JOIN transfers t ON t.id = e.transfer_id
        WHERE e.amount <> t.amount OR e.currency <> t.currency OR (t.flags & 10) <> 0
           OR e.account_id <> CASE e.side WHEN 'D' THEN t.debit_account_id
                                          ELSE t.credit_account_id END
        LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'ledger: journal entry does not book transfer %', bad.transfer_id
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    SELECT coalesce(sum(amount), 0) INTO debits_total FROM new_entries WHERE side = 'D';
    PERFORM ledger_add_to_tx_total('neobank.journal_debits', debits_total);
    RETURN NULL;
END $$;

CREATE TRIGGER journal_balanced AFTER INSERT ON journal_entries
    REFERENCING NEW TABLE AS new_entries FOR EACH STATEMENT
    EXECUTE FUNCTION ledger_journal_balanced();

CREATE FUNCTION ledger_transfers_consistent() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    bad record;
    posted numeric;
    held numeric;
BEGIN
    SELECT n.id INTO bad FROM new_transfers n
        JOIN ledger_accounts d ON d.id = n.debit_account_id
        JOIN ledger_accounts c ON c.id = n.credit_account_id
        WHERE d.currency <> n.currency OR c.currency <> n.currency LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'ledger: transfer % is not in its accounts'' currency', bad.id
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    SELECT n.id INTO bad FROM new_transfers n JOIN transfers p ON p.id = n.pending_id
        WHERE (p.flags & 2) = 0 OR n.amount > p.amount OR n.currency <> p.currency
           OR n.debit_account_id <> p.debit_account_id
           OR n.credit_account_id <> p.credit_account_id
        LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'ledger: transfer % does not resolve its pending transfer', bad.id
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    SELECT coalesce(sum(amount) FILTER (WHERE (flags & 10) = 0), 0),
           coalesce(sum(amount) FILTER (WHERE (flags & 2) <> 0), 0)
        INTO posted, held FROM new_transfers;
    SELECT held - coalesce(sum(p.amount), 0) INTO held
        FROM new_transfers n JOIN transfers p ON p.id = n.pending_id;
    PERFORM ledger_add_to_tx_total('neobank.transfer_debits', posted);
    PERFORM ledger_add_to_tx_total('neobank.transfer_pending', held);
    RETURN NULL;
END $$;

CREATE TRIGGER transfers_consistent AFTER INSERT ON transfers
    REFERENCING NEW TABLE AS new_transfers FOR EACH STATEMENT
    EXECUTE FUNCTION ledger_transfers_consistent();

CREATE FUNCTION ledger_counters_balanced() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    bad record;
    debits_delta numeric;
    pending_delta numeric;
BEGIN
    SELECT n.currency INTO bad FROM new_rows n JOIN old_rows o USING (id) GROUP BY n.currency
        HAVING sum(n.debits_posted - o.debits_posted) <> sum(n.credits_posted - o.credits_posted)
            OR sum(n.debits_pending - o.debits_pending)
               <> sum(n.credits_pending - o.credits_pending)
        LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'ledger: account counters change unevenly in %', bad.currency
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    SELECT coalesce(sum(n.debits_posted - o.debits_posted), 0),
           coalesce(sum(n.debits_pending - o.debits_pending), 0)
        INTO debits_delta, pending_delta
        FROM new_rows n JOIN old_rows o USING (id);
    IF debits_delta <> 0 OR pending_delta <> 0 THEN
        PERFORM ledger_add_to_tx_total('neobank.account_debits', debits_delta);
        PERFORM ledger_add_to_tx_total('neobank.account_pending', pending_delta);
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER counters_balanced AFTER UPDATE ON ledger_accounts
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT
    EXECUTE FUNCTION ledger_counters_balanced();

CREATE FUNCTION ledger_counters_start_at_zero() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.debits_posted <> 0 OR NEW.credits_posted <> 0
       OR NEW.debits_pending <> 0 OR NEW.credits_pending <> 0 THEN
        RAISE EXCEPTION 'ledger: account % must open with zero counters', NEW.id
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NEW;
END $$;

CREATE TRIGGER counters_start_at_zero BEFORE INSERT ON ledger_accounts
    FOR EACH ROW EXECUTE FUNCTION ledger_counters_start_at_zero();

-- The counters check pairs old and new rows by id and sums them by currency: neither moves.
CREATE FUNCTION ledger_account_identity_fixed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'ledger: account % may not change its id or currency', OLD.id
        USING ERRCODE = 'integrity_constraint_violation';
END $$;

CREATE TRIGGER account_identity_fixed BEFORE UPDATE OF id, currency ON ledger_accounts
    FOR EACH ROW WHEN (NEW.id IS DISTINCT FROM OLD.id OR NEW.currency IS DISTINCT FROM OLD.currency)
    EXECUTE FUNCTION ledger_account_identity_fixed();

CREATE FUNCTION ledger_commit_balanced() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    posted numeric := ledger_tx_total('neobank.transfer_debits');
    journal numeric := ledger_tx_total('neobank.journal_debits');
    counters numeric := ledger_tx_total('neobank.account_debits');
    held numeric := ledger_tx_total('neobank.transfer_pending');
    counters_held numeric := ledger_tx_total('neobank.account_pending');
BEGIN
    IF posted <> journal OR journal <> counters THEN
        RAISE EXCEPTION 'ledger: commit posts % in transfers, % in the journal, % in counters',
            posted, journal, counters USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    IF held <> counters_held THEN
        RAISE EXCEPTION 'ledger: commit holds % in pending transfers but % in counters',
            held, counters_held USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    DELETE FROM ledger_commit_checks WHERE txid = NEW.txid;
    RETURN NULL;
END $$;

CREATE CONSTRAINT TRIGGER commit_balanced AFTER INSERT ON ledger_commit_checks
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION ledger_commit_balanced();

CREATE FUNCTION ledger_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'ledger: % rows are immutable', TG_TABLE_NAME
        USING ERRCODE = 'integrity_constraint_violation';
END $$;

CREATE TRIGGER transfers_immutable BEFORE UPDATE OR DELETE ON transfers
    FOR EACH ROW EXECUTE FUNCTION ledger_immutable();
CREATE TRIGGER journal_immutable BEFORE UPDATE OR DELETE ON journal_entries
    FOR EACH ROW EXECUTE FUNCTION ledger_immutable();
CREATE TRIGGER transfers_not_truncated BEFORE TRUNCATE ON transfers
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_immutable();
CREATE TRIGGER journal_not_truncated BEFORE TRUNCATE ON journal_entries
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_immutable();
"""


def upgrade() -> None:
    op.execute(TABLES)
    op.execute(TRIGGERS)


def downgrade() -> None:
    op.execute(
        "DROP TABLE IF EXISTS events, idempotency_keys, promotions, fee_rules, payments, "
        "accounts, bank_secrets, auth_challenges, devices, customers, journal_entries, "
        "transfers, ledger_accounts, ledger_commit_checks CASCADE"
    )
    op.execute("DROP SEQUENCE IF EXISTS account_number_seq")
    op.execute(
        "DROP FUNCTION IF EXISTS ledger_add_to_tx_total, ledger_tx_total, "
        "ledger_journal_balanced, ledger_transfers_consistent, ledger_counters_balanced, "
        "ledger_counters_start_at_zero, ledger_account_identity_fixed, ledger_commit_balanced, "
        "ledger_immutable"
    )
