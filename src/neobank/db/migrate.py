"""Apply Alembic migrations to the configured database (safe to call from many processes)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

from neobank.db.urls import sqlalchemy_url

__all__ = ["migrate"]

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def alembic_config(database_url: str) -> Config:
    config = Config(str(MIGRATIONS_DIR / "alembic.ini"))
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", sqlalchemy_url(database_url).replace("%", "%%"))
    return config


def migrate(database_url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(database_url), revision)
