"""The journal loses its index on transfer_id.

Nothing reads journal entries by transfer: account statements and the ledger check read them
by account (`ix_journal_account_seq`), and the statement trigger that matches new entries to
their transfers looks the transfers up by their primary key. The index cost every entry an
insert at a random place of a b-tree keyed by random uuids: dropping it took the copy of a
16,380-transfer batch's 32,760 entries from 154-207 ms to 111-148 ms on the machine's
PostgreSQL (2026-11-25, three runs each). An engineer after a transfer's entries asks for
its two accounts' entries (`account_id` = its debit or credit account).

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-25
"""

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("DROP INDEX ix_journal_transfer")


def downgrade() -> None:
    op.execute("CREATE INDEX ix_journal_transfer ON journal_entries (transfer_id)")
