"""Turn one configured database URL into the forms each driver wants."""

from __future__ import annotations

import re

__all__ = ["asyncpg_url", "sqlalchemy_url"]

_SCHEME = re.compile(r"^postgres(?:ql)?(?:\+\w+)?://")


def asyncpg_url(url: str) -> str:
    """asyncpg takes a plain libpq URL: `postgresql://...`."""
    return _SCHEME.sub("postgresql://", url, count=1)


def sqlalchemy_url(url: str) -> str:
    """SQLAlchemy (Alembic) uses the synchronous psycopg 3 driver."""
    return _SCHEME.sub("postgresql+psycopg://", url, count=1)
