"""What lending's use cases need from their caller: the API's `Services` and a job's
`JobResources` both fit, so the same code runs from a request and from a job."""

from __future__ import annotations

from typing import Protocol

import asyncpg

from neobank.ledger.engine import LedgerEngine

__all__ = ["LendingDeps"]


class LendingDeps(Protocol):
    @property
    def pool(self) -> asyncpg.Pool: ...

    @property
    def engine(self) -> LedgerEngine: ...
