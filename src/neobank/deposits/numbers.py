"""Account numbers: a bank prefix, a sequence, and a Luhn check digit that catches typos."""

from __future__ import annotations

__all__ = ["account_number", "is_valid_account_number", "luhn_check_digit"]

BANK_PREFIX = "3020"
SEQUENCE_DIGITS = 8


def luhn_check_digit(digits: str) -> int:
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2 == 0:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return (10 - total % 10) % 10


def account_number(sequence: int) -> str:
    """`3020-12345678-9`: prefix, zero-padded sequence, check digit."""
    body = f"{BANK_PREFIX}{sequence:0{SEQUENCE_DIGITS}d}"
    return f"{BANK_PREFIX}-{body[len(BANK_PREFIX) :]}-{luhn_check_digit(body)}"


def is_valid_account_number(number: str) -> bool:
    digits = number.replace("-", "")
    if not digits.isdigit() or len(digits) < 2:
        return False
    return luhn_check_digit(digits[:-1]) == int(digits[-1])
