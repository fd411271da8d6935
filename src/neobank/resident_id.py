"""Korean resident registration numbers (주민등록번호): shape, check digit, birth date and the
masked form, shared by onboarding and the identity agency's simulator.

The number is ``YYMMDD-GNNNNNC``: a birth date, a digit G giving sex and century (1/2: born
1900-1999, 3/4: 2000-2099), five digits, and a check digit C (weights 2..9, 2..5; mod 11).
Numbers issued since October 2020 no longer carry a check digit that follows this rule; the
bank accepts the classic rule only, as the simulated identity agency does.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

__all__ = [
    "ResidentId",
    "birth_date_of",
    "check_digit",
    "id_card_first_issue_date",
    "mask_resident_id",
    "normalize_resident_id",
    "parse_resident_id",
    "resident_id_checksum_ok",
]

_check_weights = (2, 3, 4, 5, 6, 7, 8, 9, 2, 3, 4, 5)
_century_by_gender_digit = {"1": 1900, "2": 1900, "3": 2000, "4": 2000}
RESIDENT_ID_DIGITS = 13
# Korean ID cards are first issued at 17.
ID_CARD_ISSUE_AGE_YEARS = 17


@dataclass(frozen=True, slots=True)
class ResidentId:
    digits: str
    birth_date: date

    @property
    def masked(self) -> str:
        return mask_resident_id(self.digits)

    def __repr__(self) -> str:
        # Never the full number in a log line or a traceback.
        return f"ResidentId({self.masked})"


def normalize_resident_id(resident_id: str) -> str | None:
    """The 13 digits of a resident id written ``YYMMDD-GNNNNNC`` or ``YYMMDDGNNNNNC``."""
    digits = resident_id[:6] + resident_id[7:] if resident_id[6:7] == "-" else resident_id
    if len(digits) != RESIDENT_ID_DIGITS or not digits.isascii() or not digits.isdigit():
        return None
    return digits


def check_digit(first_twelve: str) -> str:
    """The resident registration number's check digit (weights 2..9, 2..5; mod 11)."""
    total = sum(int(d) * w for d, w in zip(first_twelve, _check_weights, strict=True))
    return str((11 - total % 11) % 10)


def resident_id_checksum_ok(digits: str) -> bool:
    return check_digit(digits[:12]) == digits[12]


def id_card_first_issue_date(birth: date) -> date:
    """The day the holder turned 17 (born on 29 February: 1 March in a common year)."""
    year = birth.year + ID_CARD_ISSUE_AGE_YEARS
    return date(year, 3, 1) if (birth.month, birth.day) == (2, 29) else birth.replace(year=year)


def birth_date_of(digits: str) -> date | None:
    century = _century_by_gender_digit.get(digits[6])
    if century is None:
        return None
    try:
        return date(century + int(digits[:2]), int(digits[2:4]), int(digits[4:6]))
    except ValueError:
        return None


def parse_resident_id(resident_id: str) -> ResidentId | None:
    """The number if its shape, check digit and birth date are right; otherwise None."""
    digits = normalize_resident_id(resident_id)
    if digits is None or not resident_id_checksum_ok(digits):
        return None
    birth = birth_date_of(digits)
    return ResidentId(digits, birth) if birth is not None else None


def mask_resident_id(digits: str) -> str:
    """``900101-1******``: the birth date and the sex digit, as Korean services show it."""
    return f"{digits[:6]}-{digits[6:7]}******"
