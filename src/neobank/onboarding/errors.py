"""Onboarding errors, each with a stable code (see ``neobank.errors`` for the tree)."""

from __future__ import annotations

from neobank.errors import NeobankError

__all__ = [
    "AdmissionTokenUsed",
    "AlreadyCustomer",
    "BirthDateMismatch",
    "InvalidResidentId",
    "OnboardingClosed",
    "OnboardingError",
    "OnboardingExpired",
    "OnboardingNotFound",
    "StepNotReady",
    "VerificationCodeMismatch",
    "VerificationFailed",
]


class OnboardingError(NeobankError):
    """Base of the onboarding domain's errors."""


class InvalidResidentId(OnboardingError):
    status = 422
    code = "invalid_resident_id"
    title = "The resident registration number is not valid"


class BirthDateMismatch(OnboardingError):
    status = 422
    code = "birth_date_mismatch"
    title = "The birth date does not match the resident registration number"


class AdmissionTokenUsed(OnboardingError):
    status = 409
    code = "admission_token_used"
    title = "This admission token has already started an onboarding"


class AlreadyCustomer(OnboardingError):
    status = 409
    code = "already_customer"
    title = "This person is already a customer"


class OnboardingNotFound(OnboardingError):
    status = 404
    code = "onboarding_not_found"
    title = "No such onboarding"


class OnboardingClosed(OnboardingError):
    status = 409
    code = "onboarding_closed"
    title = "This onboarding is finished"


class OnboardingExpired(OnboardingError):
    status = 410
    code = "onboarding_expired"
    title = "This onboarding has expired; take a new ticket to start again"


class StepNotReady(OnboardingError):
    status = 409
    code = "step_not_ready"
    title = "This step cannot be taken yet"


class VerificationCodeMismatch(OnboardingError):
    status = 422
    code = "verification_code_mismatch"
    title = "The code does not match the one sent with the 1 KRW credit"


class VerificationFailed(OnboardingError):
    status = 422
    code = "verification_failed"
    title = "Too many wrong codes: the account check failed"
