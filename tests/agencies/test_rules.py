"""The agencies' plain rules, the latency sampler and the token bucket, without HTTP."""

from __future__ import annotations

import random
import statistics
from datetime import UTC, date, datetime

import pytest

from neobank.agencies.bureau import InquiryBook, InquiryKeyConflict, bureau_report
from neobank.agencies.clearing import ClearingHouse
from neobank.agencies.guarantee import quote_guarantee
from neobank.agencies.identity import verify_identity
from neobank.agencies.simulator.capacity import TokenBucket
from neobank.agencies.simulator.latency import sample_latency_ms
from tests.agencies.ids import resident_id, wrong_check_digit

TODAY = date(2026, 3, 1)
ALICE = resident_id("900101123456")


def _verify(rid: str, issued: date, stolen: frozenset[str] = frozenset()) -> str | None:
    return verify_identity("Kim", rid, issued, today=TODAY, stolen_resident_ids=stolen).reason


def test_identity_rules() -> None:
    assert _verify(ALICE, date(2015, 5, 1)) is None
    assert _verify(ALICE.replace("-", ""), date(2015, 5, 1)) is None
    assert _verify(wrong_check_digit(ALICE), date(2015, 5, 1)) == "invalid_resident_id"
    assert _verify(resident_id("901301123456"), date(2015, 5, 1)) == "invalid_resident_id"
    assert _verify(resident_id("900101523456"), date(2015, 5, 1)) == "invalid_resident_id"
    assert _verify(ALICE, date(2026, 3, 2)) == "invalid_issue_date"  # the future
    assert _verify(ALICE, date(2006, 12, 31)) == "invalid_issue_date"  # before 17
    assert _verify(ALICE, date(2007, 1, 1)) is None
    stolen = frozenset({ALICE.replace("-", "")})
    assert _verify(ALICE, date(2015, 5, 1), stolen) == "reported_stolen"
    born_2004 = resident_id("040229412345")
    assert _verify(born_2004, date(2021, 2, 28)) == "invalid_issue_date"
    assert _verify(born_2004, date(2021, 3, 1)) is None


def test_identity_is_deterministic() -> None:
    first = verify_identity("Kim", ALICE, date(2015, 5, 1), today=TODAY)
    assert first == verify_identity("Kim", ALICE, date(2015, 5, 1), today=TODAY)
    assert first.verified and first.verification_id.startswith("idv_")


def test_bureau_scores_are_deterministic_and_in_range() -> None:
    reports = [bureau_report("k", resident_id(f"9001011{n:05d}")) for n in range(300)]
    assert all(300 <= r.score <= 950 and 1 <= r.grade <= 10 for r in reports)
    assert len({r.score for r in reports}) > 100
    assert all(r.delinquencies == 0 for r in reports if r.score >= 600)
    assert bureau_report("k", ALICE) == bureau_report("k", ALICE.replace("-", ""))


def test_inquiry_book_counts_each_key_once() -> None:
    book = InquiryBook(inquiries_max=2)
    first = book.inquire("app-1", ALICE)
    assert book.inquire("app-1", ALICE) == first
    book.inquire("app-2", ALICE)
    assert (book.inquiries, book.distinct_inquiry_keys) == (3, 2)
    with pytest.raises(InquiryKeyConflict):
        book.inquire("app-1", resident_id("850505234567"))
    book.inquire("app-3", ALICE)  # app-1 is forgotten beyond the bound
    assert book.distinct_inquiry_keys == 3


def test_guarantee_rules() -> None:
    good = quote_guarantee(870, 10_000_000, "personal_loan")
    assert (good.covered, good.fee_rate_bps, good.coverage_bps) == (True, 50, 9000)
    assert quote_guarantee(760, 10_000_000, "personal_loan").fee_rate_bps == 80
    assert quote_guarantee(700, 10_000_000, "personal_loan").fee_rate_bps == 120
    assert quote_guarantee(620, 10_000_000, "personal_loan").fee_rate_bps == 180
    assert quote_guarantee(870, 60_000_000, "personal_loan").fee_rate_bps == 70
    assert quote_guarantee(599, 1_000, "personal_loan").reason == "score_too_low"
    assert quote_guarantee(900, 100_000_001, "personal_loan").reason == "amount_too_large"
    assert quote_guarantee(900, 1_000, "car_loan").reason == "unknown_product"


def test_clearing_keeps_bounded_credits_and_delivers_a_reference_once() -> None:
    house = ClearingHouse(accounts_max=2, credits_per_account_max=2)
    now = datetime(2026, 3, 1, tzinfo=UTC)
    first = house.deliver("088", "110-1", 1, "KRW", "neobank 1234", "ref-1", now)
    assert house.deliver("088", "110-1", 1, "KRW", "neobank 9999", "ref-1", now) == first
    house.deliver("088", "110-1", 2, "KRW", "b", None, now)
    house.deliver("088", "110-1", 3, "KRW", "c", "ref-3", now)
    assert [c.memo for c in house.credits_to("110-1")] == ["b", "c"]
    # ref-1 left with its credit, so a resend is a new delivery.
    assert house.deliver("088", "110-1", 1, "KRW", "again", "ref-1", now) != first
    house.deliver("004", "220-2", 5, "KRW", "x", None, now)
    house.deliver("004", "330-3", 5, "KRW", "y", None, now)
    assert house.credits_to("110-1") == []
    assert house.credits_to("999") == []


@pytest.mark.parametrize("mean_ms", [3.0, 300.0])
def test_latency_mean_is_the_knob_and_it_varies(mean_ms: float) -> None:
    rng = random.Random(7)
    sample = [sample_latency_ms(mean_ms, rng) for _ in range(20_000)]
    assert statistics.fmean(sample) == pytest.approx(mean_ms, rel=0.03)
    assert statistics.median(sample) < mean_ms  # right-skewed
    assert statistics.quantiles(sample, n=100)[98] > 2 * mean_ms
    assert min(sample) > 0
    assert sample_latency_ms(0, rng) == 0


def test_token_bucket() -> None:
    now = [0.0]
    bucket = TokenBucket(2.0, clock=lambda: now[0])
    assert bucket.try_take() is None and bucket.try_take() is None
    wait_s = bucket.try_take()
    assert wait_s == pytest.approx(0.5)
    now[0] += 0.5
    assert bucket.try_take() is None
    bucket.set_rate(0.5)
    now[0] += 1.0
    assert bucket.try_take() == pytest.approx(1.0)  # half a token refilled at 0.5/s
    now[0] += 10.0
    assert bucket.try_take() is None  # the bucket holds one token at most
    assert bucket.try_take() == pytest.approx(2.0)
