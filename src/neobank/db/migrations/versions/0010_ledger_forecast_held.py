"""A forecast batch written in one statement fails it when an account changed under it.

A forecast batch of a few transfers (`neobank.ledger.engine`) is written in one statement
outside a transaction block: claims and answers, transfers, journal, events, and the update
of its accounts that first checks each still holds what was forecast. If one does not, the
statement must fail as a whole, since it commits on its own: its final select passes the
check's count to `ledger_forecast_held`, which raises SQLSTATE NB001 unless every account
matched. Six round trips (BEGIN, claim, load, write, lock and update, COMMIT) become one.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-25
"""

from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE FUNCTION ledger_forecast_held(matched bigint, expected bigint) RETURNS bigint
        LANGUAGE plpgsql AS $$
        BEGIN
            IF matched IS DISTINCT FROM expected THEN
                RAISE EXCEPTION 'ledger: % of % accounts hold what the forecast expected',
                    matched, expected USING ERRCODE = 'NB001';
            END IF;
            RETURN matched;
        END $$
        """
    )


def downgrade() -> None:
    op.execute("DROP FUNCTION ledger_forecast_held(bigint, bigint)")
