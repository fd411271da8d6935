"""Lending errors, each with a stable code (see ``neobank.errors`` for the tree).

LendingError
├── LoanProductNotFound        422 loan_product_not_found
├── LoanTermsOutOfRange        422 loan_terms_out_of_range (amount or term outside the product)
├── AccountNotEligible         422 account_not_eligible (not the customer's, closed, currency)
├── ResidentIdRequired         422 resident_id_required (no resident id on file or in the body)
├── InvalidLoanResidentId      422 invalid_resident_id
├── ApplicationNotFound        404 loan_application_not_found
├── ApplicationNotApproved     409 loan_application_not_approved (accept before/after an offer)
├── OfferExpired               409 loan_offer_expired
├── ApplicationClosed          409 loan_application_closed (no longer cancellable)
├── LoanNotFound               404 loan_not_found
├── LoanClosed                 409 loan_closed
├── RepaymentTooLarge          422 repayment_exceeds_balance
├── InvalidBusinessDate        422 invalid_business_date
└── CloseOfBusinessRunning     409 close_of_business_running
"""

from __future__ import annotations

from neobank.errors import NeobankError

__all__ = [
    "AccountNotEligible",
    "ApplicationClosed",
    "ApplicationNotApproved",
    "ApplicationNotFound",
    "CloseOfBusinessRunning",
    "InvalidBusinessDate",
    "InvalidLoanResidentId",
    "LendingError",
    "LoanClosed",
    "LoanNotFound",
    "LoanProductNotFound",
    "LoanTermsOutOfRange",
    "OfferExpired",
    "RepaymentTooLarge",
    "ResidentIdRequired",
    "StatementNotAvailable",
]


class LendingError(NeobankError):
    """Base of the lending domain's errors."""


class LoanProductNotFound(LendingError):
    status = 422
    code = "loan_product_not_found"
    title = "There is no such loan product"


class LoanTermsOutOfRange(LendingError):
    status = 422
    code = "loan_terms_out_of_range"
    title = "The amount or the term is outside what the product offers"


class AccountNotEligible(LendingError):
    status = 422
    code = "account_not_eligible"
    title = "The account cannot take this loan"


class ResidentIdRequired(LendingError):
    status = 422
    code = "resident_id_required"
    title = "The credit bureau needs the customer's resident registration number"


class InvalidLoanResidentId(LendingError):
    status = 422
    code = "invalid_resident_id"
    title = "The resident registration number is not valid"


class ApplicationNotFound(LendingError):
    status = 404
    code = "loan_application_not_found"
    title = "There is no such loan application"


class ApplicationNotApproved(LendingError):
    status = 409
    code = "loan_application_not_approved"
    title = "The application has no offer to accept"


class OfferExpired(LendingError):
    status = 409
    code = "loan_offer_expired"
    title = "The offer has expired"


class ApplicationClosed(LendingError):
    status = 409
    code = "loan_application_closed"
    title = "The application can no longer change"


class LoanNotFound(LendingError):
    status = 404
    code = "loan_not_found"
    title = "There is no such loan"


class LoanClosed(LendingError):
    status = 409
    code = "loan_closed"
    title = "The loan is closed"


class RepaymentTooLarge(LendingError):
    status = 422
    code = "repayment_exceeds_balance"
    title = "The repayment is more than the loan's balance"


class StatementNotAvailable(LendingError):
    status = 422
    code = "statement_not_available"
    title = "An overdraft line has no statement: its charges are in GET /v1/loans/{id}"


class InvalidBusinessDate(LendingError):
    status = 422
    code = "invalid_business_date"
    title = "Close of business cannot run for this date"


class CloseOfBusinessRunning(LendingError):
    status = 409
    code = "close_of_business_running"
    title = "Close of business for this date is already running"
