"""Ledger errors."""

from __future__ import annotations

from neobank.errors import NeobankError

__all__ = ["LedgerError", "LedgerUnavailable"]


class LedgerError(NeobankError):
    """Base of the ledger's errors."""


class LedgerUnavailable(LedgerError):
    status = 503
    code = "ledger_unavailable"
    title = "The ledger cannot take this request right now; retry with the same key"
