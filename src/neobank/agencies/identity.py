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

from neobank.resident_id import (
    birth_date_of,
    id_card_first_issue_date,
    normalize_resident_id,
    resident_id_checksum_ok,
)

__all__ = [
    "IdentityVerdict",
    "birth_date_of",
    "normalize_resident_id",
    "resident_id_checksum_ok",
    "verify_identity",
]


@dataclass(frozen=True, slots=True)
class IdentityVerdict:
    verified: bool
    reason: str | None
    verification_id: str


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
    elif issue_date > today or issue_date < id_card_first_issue_date(birth):
        reason = "invalid_issue_date"
    return IdentityVerdict(reason is None, reason, verification_id)
