"""Ops errors: users, maker-checker changes (see ``neobank.errors`` for the tree).

    OpsError
    ├── OpsUserNotFound        404 ops_user_not_found
    ├── OpsUserNameTaken       409 ops_user_name_taken
    ├── ChangeNotFound         404 ops_change_not_found
    ├── InvalidChangeTarget    422 invalid_change_target (kind and target do not go together)
    ├── InvalidChangeBody      422 invalid_change_body (the terms would not make a valid version)
    ├── InvalidEffectiveAt     422 invalid_effective_at (in the past, or too far ahead)
    ├── ChangeNotPending       409 ops_change_not_pending (already approved, rejected, cancelled)
    ├── FourEyesRequired       409 four_eyes_required (the proposer cannot approve or reject)
    ├── ChangeStale            409 ops_change_stale (the target got a new version meanwhile)
    └── ChangeOutOfOrder       409 ops_change_out_of_order (a later version takes effect after it)

A missing role is ``AuthError``'s 403 forbidden; a disabled user's token is 401 unauthorized.
"""

from __future__ import annotations

from neobank.errors import NeobankError

__all__ = [
    "ChangeNotFound",
    "ChangeNotPending",
    "ChangeOutOfOrder",
    "ChangeStale",
    "FourEyesRequired",
    "InvalidChangeBody",
    "InvalidChangeTarget",
    "InvalidEffectiveAt",
    "OpsError",
    "OpsUserNameTaken",
    "OpsUserNotFound",
]


class OpsError(NeobankError):
    """Base of the ops domain's errors."""


class OpsUserNotFound(OpsError):
    status = 404
    code = "ops_user_not_found"
    title = "There is no such ops user"


class OpsUserNameTaken(OpsError):
    status = 409
    code = "ops_user_name_taken"
    title = "An ops user already has this name (names are never reused)"


class ChangeNotFound(OpsError):
    status = 404
    code = "ops_change_not_found"
    title = "There is no such change"


class InvalidChangeTarget(OpsError):
    status = 422
    code = "invalid_change_target"
    title = "The change's target does not fit its kind"


class InvalidChangeBody(OpsError):
    status = 422
    code = "invalid_change_body"
    title = "The proposed terms would not make a valid version"


class InvalidEffectiveAt(OpsError):
    status = 422
    code = "invalid_effective_at"
    title = "effective_at must be a time with a zone, not in the past and within a year"


class ChangeNotPending(OpsError):
    status = 409
    code = "ops_change_not_pending"
    title = "The change has already been approved, rejected or cancelled"


class FourEyesRequired(OpsError):
    status = 409
    code = "four_eyes_required"
    title = "A change must be approved or rejected by someone other than its proposer"


class ChangeStale(OpsError):
    status = 409
    code = "ops_change_stale"
    title = "The target has a new version since this change was proposed: propose it again"


class ChangeOutOfOrder(OpsError):
    status = 409
    code = "ops_change_out_of_order"
    title = "A version already approved takes effect later than this change would"
