"""The identity agency's rules: is this ID card (name, resident id, issue date) genuine?

A card is verified when all of these hold, checked in this order (the first failure is the
reason given):

1. ``invalid_resident_id``: the resident registration number is 13 digits (a hyphen after
   the sixth is allowed), its check digit is right, its seventh digit is 1-4 and its first six
   are a real birth date (7th digit 1/2: born 1900-1999, 3/4: 2000-2099).
2. ``reported_stolen``: the id is not in the configured set of lost or stolen cards.
3. ``invalid_issue_date``: the card was not issued in the future, nor before the holder
   turned 17 (the age at which Korean ID cards are first issued).

The same inputs always give the same answer and the same ``verification_id``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date

__all__ = [
    "IdentityVerdict",
    "birth_date_of",
    "normalize_resident_id",
    "resident_id_checksum_ok",
    "verify_identity",
]

card_issue_age_years = 17
_check_weights = (2, 3, 4, 5, 6, 7, 8, 9, 2, 3, 4, 5)
_century_by_gender_digit = {"1": 1900, "2": 1900, "3": 2000, "4": 2000}


@dataclass(frozen=True, slots=True)
class IdentityVerdict:
    verified: bool
    reason: str | None
    verification_id: str


def normalize_resident_id(resident_id: str) -> str | None:
    """The 13 digits of a resident id written ``YYMMDD-GNNNNNC`` or ``YYMMDDGNNNNNC``."""
    digits = resident_id[:6] + resident_id[7:] if resident_id[6:7] == "-" else resident_id
    if len(digits) != 13 or not digits.isascii() or not digits.isdigit():
        return None
    return digits


def resident_id_checksum_ok(digits: str) -> bool:
    """The resident registration number's check digit (weights 2..9,2..5, mod 11)."""
    total = sum(int(d) * w for d, w in zip(digits[:12], _check_weights, strict=True))
    return (11 - total % 11) % 10 == int(digits[12])


def birth_date_of(digits: str) -> date | None:
    century = _century_by_gender_digit.get(digits[6])
    if century is None:
        return None
    try:
        return date(century + int(digits[:2]), int(digits[2:4]), int(digits[4:6]))
    except ValueError:
        return None


def _issue_age_reached(birth: date) -> date:
    year = birth.year + card_issue_age_years
    # Born on 29 February: the birthday is 1 March in a common year.
    return date(year, 3, 1) if (birth.month, birth.day) == (2, 29) else birth.replace(year=year)


def verify_identity(
    name: str,
    resident_id: str,
    issue_date: date,
    *,
    today: date,
    stolen_resident_ids: frozenset[str] = frozenset(),
) -> IdentityVerdict:
    digest = hashlib.sha256(f"{name}|{resident_id}|{issue_date}".encode()).hexdigest()
    verification_id = "idv_" + digest[:24]
    digits = normalize_resident_id(resident_id)
    birth = birth_date_of(digits) if digits and resident_id_checksum_ok(digits) else None
    reason: str | None = None
    if digits is None or birth is None:
        reason = "invalid_resident_id"
    elif digits in stolen_resident_ids:
        reason = "reported_stolen"
    elif issue_date > today or issue_date < _issue_age_reached(birth):
        reason = "invalid_issue_date"
    return IdentityVerdict(reason is None, reason, verification_id)
