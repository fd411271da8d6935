"""The surge's made-up people are valid for the bank and the identity agency, and distinct."""

from __future__ import annotations

from datetime import date

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from neobank.agencies.identity import verify_identity
from neobank.b64 import b64url_decode
from neobank.loadtest.identities import (
    applicant,
    born_first,
    check_digit,
    device_public_key,
)
from neobank.resident_id import parse_resident_id

today = date(2026, 11, 24)


def test_check_digit_matches_a_known_number() -> None:
    # 900101-1234568: sum of weighted digits 146, (11 - 146 % 11) % 10 = 8.
    assert check_digit("900101123456") == "8"
    assert parse_resident_id("900101-1234568") is not None


def test_people_pass_the_identity_agency_with_their_birth_date() -> None:
    for index in range(500):
        who = applicant(run_salt=12345, index=index, today=today)
        parsed = parse_resident_id(who.resident_id)
        assert parsed is not None, who.resident_id
        assert parsed.birth_date == who.birth_date
        verdict = verify_identity(who.name, who.resident_id, who.id_card_issue_date, today=today)
        assert verdict.verified, (who, verdict.reason)
        assert who.id_card_issue_date <= today


def test_people_of_a_run_are_distinct() -> None:
    people = [applicant(run_salt=7, index=i, today=today) for i in range(20_000)]
    assert len({p.resident_id for p in people}) == len(people)
    assert len({p.account_number for p in people}) == len(people)
    assert all(len(p.account_number) <= 20 and p.account_number.isdigit() for p in people)


def test_born_on_29_february_gets_a_card_after_turning_17() -> None:
    # Person 0 of a run salted with day d's first slot is born on day d.
    slots_per_day = 200_000
    for birth in (date(1996, 2, 29), date(2000, 2, 29), date(2004, 2, 29)):
        salt = (birth - born_first).days * slots_per_day
        who = applicant(run_salt=salt, index=0, today=today)
        assert who.birth_date == birth
        assert who.id_card_issue_date >= date(birth.year + 17, 3, 1)
        verdict = verify_identity(who.name, who.resident_id, who.id_card_issue_date, today=today)
        assert verdict.verified, verdict.reason


def test_device_keys_are_fresh_ed25519_keys() -> None:
    keys = {device_public_key() for _ in range(50)}
    assert len(keys) == 50
    for key in keys:
        raw = b64url_decode(key)
        assert raw is not None and len(raw) == 32 and "=" not in key
        Ed25519PublicKey.from_public_bytes(raw)
