"""The one SQLAlchemy MetaData that every domain's `models.py` registers its tables on.

Alembic compares it with the database (tests/db/test_migrations.py) so that the migrations and
the declared tables cannot drift apart.
"""

from __future__ import annotations

from sqlalchemy import MetaData

__all__ = ["metadata"]

metadata = MetaData()


def load_all_models() -> MetaData:
    """Import every domain's models so their tables are registered, and return the metadata."""
    from neobank.customers import models as _customers  # noqa: F401
    from neobank.deposits import models as _deposits  # noqa: F401
    from neobank.events import models as _events  # noqa: F401
    from neobank.idempotency import models as _idempotency  # noqa: F401
    from neobank.ledger import models as _ledger  # noqa: F401
    from neobank.lending import models as _lending  # noqa: F401
    from neobank.onboarding import models as _onboarding  # noqa: F401
    from neobank.ops import models as _ops  # noqa: F401
    from neobank.payments import models as _payments  # noqa: F401

    return metadata
