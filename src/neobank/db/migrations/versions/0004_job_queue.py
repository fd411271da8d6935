"""The job queue: procrastinate's own schema.sql (the pinned version's), in a schema of its own.

The objects live in the `procrastinate` schema rather than `public`, so the bank's tables and
the queue's stay apart (tests/db/test_migrations.py compares `public` with the models). Every
procrastinate function is pinned to that schema (`SET search_path`), so a caller with the
default search path — an asyncpg connection deferring a job inside the bank's own transaction
— runs them and their triggers correctly; procrastinate's psycopg connections set the search
path themselves (neobank.workers.queue).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01
"""

from importlib.resources import files

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

SCHEMA = "procrastinate"

PIN_FUNCTIONS = f"""
DO $$
DECLARE
    fn regprocedure;
BEGIN
    FOR fn IN
        SELECT p.oid::regprocedure FROM pg_proc p
        JOIN pg_namespace n ON n.oid = p.pronamespace
        WHERE n.nspname = '{SCHEMA}'
    LOOP
        EXECUTE format('ALTER FUNCTION %s SET search_path = {SCHEMA}, pg_catalog', fn);
    END LOOP;
END;
$$
"""


def upgrade() -> None:
    schema_sql = files("procrastinate.sql").joinpath("schema.sql").read_text(encoding="utf-8")
    bind = op.get_bind()
    search_path = bind.exec_driver_sql("SHOW search_path").scalar_one()
    op.execute(f"CREATE SCHEMA {SCHEMA}")
    # Local to this transaction; restored below, before Alembic writes alembic_version.
    op.execute(f"SELECT set_config('search_path', '{SCHEMA}', true)")
    op.execute(schema_sql)
    op.execute(PIN_FUNCTIONS)
    bind.exec_driver_sql("SELECT set_config('search_path', %s, true)", (search_path,))


def downgrade() -> None:
    op.execute(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE")
