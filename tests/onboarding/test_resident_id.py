"""Resident registration numbers: shape, check digit, birth date and mask."""

from __future__ import annotations

from datetime import date

from hypothesis import given
from hypothesis import strategies as st

from neobank.resident_id import mask_resident_id, parse_resident_id
from tests.agencies.ids import resident_id, wrong_check_digit

VALID = resident_id("900101123456")


def test_a_valid_number_parses_with_its_birth_date_and_mask() -> None:
    parsed = parse_resident_id(VALID)
    assert parsed is not None
    assert parsed.birth_date == date(1990, 1, 1)
    assert parsed.masked == "900101-1******"
    assert VALID[8:] not in repr(parsed)


def test_the_hyphen_is_optional() -> None:
    assert parse_resident_id(VALID.replace("-", "")) == parse_resident_id(VALID)


def test_century_from_the_seventh_digit() -> None:
    parsed = parse_resident_id(resident_id("050301412345"))
    assert parsed is not None and parsed.birth_date == date(2005, 3, 1)


def test_wrong_numbers_are_refused() -> None:
    for text in (
        wrong_check_digit(VALID),
        "900101-123456",
        "9001011234567x",
        resident_id("901301123456"),  # month 13
        resident_id("900101523456"),  # seventh digit 5: not a resident of this scheme
        "٩٠٠١٠١-١٢٣٤٥٦٧",  # Arabic-Indic digits are digits to Python, not to us
    ):
        assert parse_resident_id(text) is None, text


@given(st.text(max_size=20))
def test_any_text_parses_or_is_refused_without_error(text: str) -> None:
    parsed = parse_resident_id(text)
    assert parsed is None or len(parsed.digits) == 13


def test_mask_shows_only_birth_date_and_sex_digit() -> None:
    assert mask_resident_id("9001011234567") == "900101-1******"
