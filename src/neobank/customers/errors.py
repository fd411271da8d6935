"""Customer and authentication errors."""

from __future__ import annotations

from neobank.errors import NeobankError

__all__ = [
    "AuthError",
    "CustomerError",
    "CustomerNotFound",
    "DeviceKeyInUse",
    "DeviceLocked",
    "DeviceNotFound",
    "Forbidden",
    "InvalidChallenge",
    "InvalidPublicKey",
    "InvalidSignature",
    "Unauthorized",
]


class CustomerError(NeobankError):
    """Base of the customer domain's errors."""


class CustomerNotFound(CustomerError):
    status = 404
    code = "customer_not_found"
    title = "No such customer"


class InvalidPublicKey(CustomerError):
    status = 422
    code = "invalid_public_key"
    title = "The public key must be 32 raw Ed25519 bytes in base64url"


class DeviceKeyInUse(CustomerError):
    status = 409
    code = "device_key_in_use"
    title = "This public key is already registered to a device"


class AuthError(NeobankError):
    """Base of the authentication errors."""


class Unauthorized(AuthError):
    status = 401
    code = "unauthorized"
    title = "A valid bearer token is required"


class Forbidden(AuthError):
    status = 403
    code = "forbidden"
    title = "This token may not do that"


class DeviceNotFound(AuthError):
    status = 404
    code = "device_not_found"
    title = "No such device"


class DeviceLocked(AuthError):
    status = 423
    code = "device_locked"
    title = "Too many failed signatures: the device is locked for 30 minutes"


class InvalidChallenge(AuthError):
    status = 401
    code = "invalid_challenge"
    title = "The challenge is unknown, used, expired or for another device"


class InvalidSignature(AuthError):
    status = 401
    code = "invalid_signature"
    title = "The signature does not verify with the device's key"
