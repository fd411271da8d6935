"""The ledger's statement triggers plan their joins at every statement (EXECUTE).

PL/pgSQL keeps the plan of a query without parameters for the life of the session, made with
the sizes the tables had then. A bank's tables start empty: a check planned in the first
seconds (a hash join over `transfers`, cheap at ten rows) kept scanning the whole table at
every write, and a new bank's first minutes of heavy traffic grew its tables a hundredfold
before autovacuum's ANALYZE replaced the plans (single transfers fell from ~2,300 to ~870 a
second after 160,000 batched transfers: `bench/` figures of 2026-11-25). A plan made per
statement sees the tables' current size and probes the indexes; the joins of two transition
tables are planned with their actual row counts. Planning costs a fraction of a millisecond a
statement; the checks of pending transfers run only when the statement resolves one.

The functions are restated from 0007 (0001 for the counters), checks unchanged.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-25
"""

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

CHECKS = """
CREATE OR REPLACE FUNCTION ledger_journal_balanced() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    bad record;
    found_rows bigint;
    debits_total numeric;
BEGIN
    SELECT currency INTO bad FROM new_entries GROUP BY currency
        HAVING sum(CASE side WHEN 'D' THEN amount ELSE -amount END) <> 0 LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'ledger: journal entries do not balance in %', bad.currency
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    EXECUTE $q$
        SELECT e.transfer_id FROM new_entries e LEFT JOIN transfers t ON t.id = e.transfer_id
        WHERE t.id IS NULL OR e.amount <> t.amount OR e.currency <> t.currency
           OR (t.flags & 10) <> 0
           OR e.account_id <> CASE e.side WHEN 'D' THEN t.debit_account_id
                                          ELSE t.credit_account_id END
        LIMIT 1 $q$ INTO bad;
    GET DIAGNOSTICS found_rows = ROW_COUNT;
    IF found_rows > 0 THEN
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
    found_rows bigint;
    posted numeric;
    held numeric;
    resolving bigint;
BEGIN
    EXECUTE $q$
        SELECT n.id, d.id IS NULL OR c.id IS NULL AS missing FROM new_transfers n
        LEFT JOIN ledger_accounts d ON d.id = n.debit_account_id
        LEFT JOIN ledger_accounts c ON c.id = n.credit_account_id
        WHERE d.id IS NULL OR c.id IS NULL OR d.currency <> n.currency
           OR c.currency <> n.currency
        LIMIT 1 $q$ INTO bad;
    GET DIAGNOSTICS found_rows = ROW_COUNT;
    IF found_rows > 0 AND bad.missing THEN
        RAISE EXCEPTION 'ledger: transfer % names an account that does not exist', bad.id
            USING ERRCODE = 'foreign_key_violation';
    ELSIF found_rows > 0 THEN
        RAISE EXCEPTION 'ledger: transfer % is not in its accounts'' currency', bad.id
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    SELECT coalesce(sum(amount) FILTER (WHERE (flags & 10) = 0), 0),
           coalesce(sum(amount) FILTER (WHERE (flags & 2) <> 0), 0),
           count(*) FILTER (WHERE pending_id IS NOT NULL)
        INTO posted, held, resolving FROM new_transfers;
    IF resolving > 0 THEN
        EXECUTE $q$
            SELECT n.id FROM new_transfers n LEFT JOIN transfers p ON p.id = n.pending_id
            WHERE n.pending_id IS NOT NULL
              AND (p.id IS NULL OR (p.flags & 2) = 0 OR n.amount > p.amount
                   OR n.currency <> p.currency
                   OR n.debit_account_id <> p.debit_account_id
                   OR n.credit_account_id <> p.credit_account_id)
            LIMIT 1 $q$ INTO bad;
        GET DIAGNOSTICS found_rows = ROW_COUNT;
        IF found_rows > 0 THEN
            RAISE EXCEPTION 'ledger: transfer % does not resolve its pending transfer', bad.id
                USING ERRCODE = 'integrity_constraint_violation';
        END IF;
        EXECUTE $q$
            SELECT $1 - coalesce(sum(p.amount), 0)
            FROM new_transfers n JOIN transfers p ON p.id = n.pending_id $q$
            INTO held USING held;
    END IF;
    PERFORM ledger_add_to_tx_total('neobank.transfer_debits', posted);
    PERFORM ledger_add_to_tx_total('neobank.transfer_pending', held);
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION ledger_counters_balanced() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    bad record;
    found_rows bigint;
    debits_delta numeric;
    pending_delta numeric;
BEGIN
    EXECUTE $q$
        SELECT n.currency FROM new_rows n JOIN old_rows o USING (id) GROUP BY n.currency
        HAVING sum(n.debits_posted - o.debits_posted) <> sum(n.credits_posted - o.credits_posted)
            OR sum(n.debits_pending - o.debits_pending)
               <> sum(n.credits_pending - o.credits_pending)
        LIMIT 1 $q$ INTO bad;
    GET DIAGNOSTICS found_rows = ROW_COUNT;
    IF found_rows > 0 THEN
        RAISE EXCEPTION 'ledger: account counters change unevenly in %', bad.currency
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    EXECUTE $q$
        SELECT coalesce(sum(n.debits_posted - o.debits_posted), 0),
               coalesce(sum(n.debits_pending - o.debits_pending), 0)
        FROM new_rows n JOIN old_rows o USING (id) $q$
        INTO debits_delta, pending_delta;
    IF debits_delta <> 0 OR pending_delta <> 0 THEN
        PERFORM ledger_add_to_tx_total('neobank.account_debits', debits_delta);
        PERFORM ledger_add_to_tx_total('neobank.account_pending', pending_delta);
    END IF;
    RETURN NULL;
END $$;
"""


def upgrade() -> None:
    op.execute(CHECKS)


def downgrade() -> None:
    # The checks are the same; only when they are planned differs. Nothing to undo.
    pass
