"""Made-up people for the surge: valid, distinct resident registration numbers (with the
birth date and an ID card issue date that the identity agency accepts), phones, other-bank
account numbers and Ed25519 device keys.

Person ``k`` of a run is a pure function of ``(run_salt, k)``: resident ids never repeat within
a run (``k`` below :data:`people_per_run_max`), and runs with different salts mostly differ.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from neobank.b64 import b64url_encode
from neobank.resident_id import check_digit, id_card_first_issue_date

__all__ = [
    "Applicant",
    "applicant",
    "device_public_key",
    "people_per_run_max",
]

# Birth dates span these years; everyone is an adult and was issued an ID card at 17.
born_first = date(1950, 1, 1)
born_last = date(2004, 12, 31)
_days = (born_last - born_first).days + 1
_serials = 100_000  # the five digits after the sex digit
_sexes = 2
people_per_run_max = _days * _serials * _sexes
# A multiplier coprime with the slot count spreads consecutive people over all birth dates.
_stride = 1_000_003
other_bank_code = "004"


@dataclass(frozen=True, slots=True)
class Applicant:
    name: str
    birth_date: date
    resident_id: str
    phone: str
    id_card_issue_date: date
    bank_code: str
    account_number: str


def _slot(run_salt: int, index: int) -> int:
    if not 0 <= index < people_per_run_max:
        raise ValueError(f"person index must be below {people_per_run_max}")
    return (run_salt + index * _stride) % people_per_run_max


def applicant(run_salt: int, index: int, *, today: date) -> Applicant:
    """Person ``index`` of the run salted ``run_salt`` (``today`` bounds the card's date)."""
    slot = _slot(run_salt, index)
    day, rest = divmod(slot, _serials * _sexes)
    serial, sex = divmod(rest, _sexes)
    birth = born_first + timedelta(days=day)
    sex_digit = (1 if birth.year < 2000 else 3) + sex
    first_twelve = f"{birth:%y%m%d}{sex_digit}{serial:05d}"
    digits = first_twelve + check_digit(first_twelve)
    earliest = id_card_first_issue_date(birth)
    issued = earliest + timedelta(days=slot % max(1, (today - earliest).days))
    return Applicant(
        name=f"Launch Day {index}",
        birth_date=birth,
        resident_id=f"{digits[:6]}-{digits[6:]}",
        phone=f"+82 10-{slot // 10_000 % 10_000:04d}-{slot % 10_000:04d}",
        id_card_issue_date=issued,
        bank_code=other_bank_code,
        # Digits only, unique within the run: the salt's low digits, then the index.
        account_number=f"{run_salt % 1_000_000:06d}{index:010d}",
    )


def device_public_key() -> str:
    """A fresh Ed25519 public key: 32 raw bytes, base64url without padding."""
    raw = Ed25519PrivateKey.generate().public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    return b64url_encode(raw)
