"""Resident ids with a right check digit, for the agency tests."""
# Computed here, independently of neobank.resident_id, so the tests check the code against
# a second implementation rather than against itself.

from __future__ import annotations

_weights = (2, 3, 4, 5, 6, 7, 8, 9, 2, 3, 4, 5)


def resident_id(first_twelve: str) -> str:
    """``YYMMDD-GNNNNNC`` from its first 12 digits, with the check digit computed."""
    total = sum(int(d) * w for d, w in zip(first_twelve, _weights, strict=True))
    digits = first_twelve + str((11 - total % 11) % 10)
    return f"{digits[:6]}-{digits[6:]}"


def wrong_check_digit(valid: str) -> str:
    return valid[:-1] + str((int(valid[-1]) + 1) % 10)
