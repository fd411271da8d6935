"""The ledger's references are checked per statement, not per row: transfers and journal
entries lose their five foreign keys (a per-row trigger each, about a third of PostgreSQL's
time for a big batch: `bench/write_parts.py`), and the statement triggers of migration 0001
check the same references in bulk. Ledger accounts can no longer be deleted or truncated,
the one thing the keys also prevented.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-25
"""

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

FOREIGN_KEYS = {
    "transfers_debit_account_id_fkey": ("transfers", "debit_account_id", "ledger_accounts"),
    "transfers_credit_account_id_fkey": ("transfers", "credit_account_id", "ledger_accounts"),
    "transfers_pending_id_fkey": ("transfers", "pending_id", "transfers"),
    "journal_entries_account_id_fkey": ("journal_entries", "account_id", "ledger_accounts"),
    "journal_entries_transfer_id_fkey": ("journal_entries", "transfer_id", "transfers"),
}

# As in 0001, plus: a transfer's accounts and pending transfer, and an entry's transfer, exist.
# (An entry's account is its transfer's debit or credit account, checked below, so it exists.)
CHECKS = """
CREATE OR REPLACE FUNCTION ledger_journal_balanced() RETURNS trigger LANGUAGE plpgsql AS $$
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
    SELECT e.transfer_id INTO bad FROM new_entries e LEFT JOIN transfers t ON t.id = e.transfer_id
        WHERE t.id IS NULL OR e.amount <> t.amount OR e.currency <> t.currency
           OR (t.flags & 10) <> 0
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

CREATE OR REPLACE FUNCTION ledger_transfers_consistent() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    bad record;
    posted numeric;
    held numeric;
BEGIN
    SELECT n.id, d.id IS NULL OR c.id IS NULL AS missing INTO bad FROM new_transfers n
        LEFT JOIN ledger_accounts d ON d.id = n.debit_account_id
        LEFT JOIN ledger_accounts c ON c.id = n.credit_account_id
        WHERE d.id IS NULL OR c.id IS NULL OR d.currency <> n.currency
           OR c.currency <> n.currency
        LIMIT 1;
    IF FOUND AND bad.missing THEN
        RAISE EXCEPTION 'ledger: transfer % names an account that does not exist', bad.id
            USING ERRCODE = 'foreign_key_violation';
    ELSIF FOUND THEN
        RAISE EXCEPTION 'ledger: transfer % is not in its accounts'' currency', bad.id
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    SELECT n.id INTO bad FROM new_transfers n LEFT JOIN transfers p ON p.id = n.pending_id
        WHERE n.pending_id IS NOT NULL
          AND (p.id IS NULL OR (p.flags & 2) = 0 OR n.amount > p.amount
               OR n.currency <> p.currency
               OR n.debit_account_id <> p.debit_account_id
               OR n.credit_account_id <> p.credit_account_id)
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

CREATE FUNCTION ledger_accounts_kept() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'ledger: accounts are never deleted (close them)'
        USING ERRCODE = 'integrity_constraint_violation';
END $$;

CREATE TRIGGER accounts_not_deleted BEFORE DELETE ON ledger_accounts
    FOR EACH ROW EXECUTE FUNCTION ledger_accounts_kept();
CREATE TRIGGER accounts_not_truncated BEFORE TRUNCATE ON ledger_accounts
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_accounts_kept();
"""


def upgrade() -> None:
    for name, (table, _, _) in FOREIGN_KEYS.items():
        op.execute(f"ALTER TABLE {table} DROP CONSTRAINT {name}")
    op.execute(CHECKS)


def downgrade() -> None:
    # The bulk checks stay (they are stricter than 0001's); the keys come back.
    op.execute("DROP TRIGGER accounts_not_truncated ON ledger_accounts")
    op.execute("DROP TRIGGER accounts_not_deleted ON ledger_accounts")
    op.execute("DROP FUNCTION ledger_accounts_kept()")
    for name, (table, column, target) in FOREIGN_KEYS.items():
        op.execute(
            f"ALTER TABLE {table} ADD CONSTRAINT {name} FOREIGN KEY ({column}) "
            f"REFERENCES {target} (id)"
        )
