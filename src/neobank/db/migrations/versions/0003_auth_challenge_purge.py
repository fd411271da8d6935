"""Index auth challenges by expiry so the purge job can delete old ones cheaply.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24
"""

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("CREATE INDEX ix_auth_challenges_expires_at ON auth_challenges (expires_at)")
    op.execute("CREATE INDEX ix_auth_challenges_device ON auth_challenges (device_id)")


def downgrade() -> None:
    op.execute("DROP INDEX IF EXISTS ix_auth_challenges_device")
    op.execute("DROP INDEX IF EXISTS ix_auth_challenges_expires_at")
