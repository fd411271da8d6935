"""Which database this process uses: the configured URL, or the embedded server."""

from __future__ import annotations

from neobank.config import Settings
from neobank.db.embedded import start_embedded

__all__ = ["resolve_database_url"]


def resolve_database_url(settings: Settings) -> str:
    if settings.database_url:
        return settings.database_url
    return start_embedded(settings.data_dir)
