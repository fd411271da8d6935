"""Settings read from the environment (see API.md "Command line and configuration")."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Settings", "load_settings"]

ADMIN_TOKEN_FILE = "admin_token"


@dataclass(frozen=True)
class Settings:
    database_url: str | None
    data_dir: Path
    admin_token: str | None
    agencies_url: str | None
    redis_url: str | None
    log_json: bool

    @property
    def embedded(self) -> bool:
        return self.database_url is None


def load_settings() -> Settings:
    return Settings(
        database_url=os.environ.get("NEOBANK_DATABASE_URL") or None,
        data_dir=Path(os.environ.get("NEOBANK_DATA_DIR", "./.neobank")).resolve(),
        admin_token=os.environ.get("NEOBANK_ADMIN_TOKEN") or None,
        agencies_url=os.environ.get("NEOBANK_AGENCIES_URL") or None,
        redis_url=os.environ.get("NEOBANK_REDIS_URL") or None,
        log_json=os.environ.get("NEOBANK_LOG_FORMAT", "console") == "json",
    )


def ensure_admin_token(settings: Settings) -> tuple[str, bool]:
    """Return the ops token and whether it was generated just now.

    In development (no NEOBANK_ADMIN_TOKEN) a token is generated once, kept in the data dir
    with owner-only permissions, and reused by every process that shares the data dir.
    """
    if settings.admin_token:
        return settings.admin_token, False
    path = settings.data_dir / ADMIN_TOKEN_FILE
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip(), False
    token = secrets.token_urlsafe(32)
    with os.fdopen(fd, "w") as handle:
        handle.write(token)
    return token, True
