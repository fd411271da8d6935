"""Alembic environment: migrations run under an advisory lock so that many processes may start
(and migrate) at once; the first one applies, the others wait and find nothing left to do."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine, pool, text

from neobank.db.metadata import load_all_models

metadata = load_all_models()

MIGRATION_LOCK_KEY = 7_261_100_001


def run_migrations_online() -> None:
    url = context.config.get_main_option("sqlalchemy.url")
    assert url is not None, "sqlalchemy.url must be set by neobank.db.migrate"
    engine = create_engine(url, poolclass=pool.NullPool)
    with engine.connect() as connection:
        connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
        try:
            context.configure(connection=connection, target_metadata=metadata)
            with context.begin_transaction():
                context.run_migrations()
            connection.commit()
        finally:
            # After a failed migration the transaction is aborted: roll it back first, or the
            # unlock fails too and hides the migration's own error.
            connection.rollback()
            connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": MIGRATION_LOCK_KEY})
            connection.commit()
    engine.dispose()


run_migrations_online()
