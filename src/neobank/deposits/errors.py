"""Deposit account errors."""

from __future__ import annotations

from neobank.errors import NeobankError

__all__ = ["AccountNotFound", "DepositError", "InvalidStatusChange", "ProductNotFound"]


class DepositError(NeobankError):
    """Base of the deposit domain's errors."""


class AccountNotFound(DepositError):
    status = 404
    code = "account_not_found"
    title = "No such account"


class ProductNotFound(DepositError):
    status = 422
    code = "product_not_found"
    title = "No such deposit product"


class InvalidStatusChange(DepositError):
    status = 422
    code = "invalid_status_change"
    title = "The account cannot move to that status"
