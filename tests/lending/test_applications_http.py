"""Loan applications over HTTP with the decision job running against the in-process
simulators: products, approval, decline reasons, the guarantee path, counter-offers."""

from __future__ import annotations

from datetime import datetime, timedelta

import asyncpg
import httpx

from neobank.lending.policy import REASONS
from tests.lending.conftest import (
    good,
    new_applicant,
    post,
    prime,
    report_of,
    sim_stats,
    subprime,
    wait_for,
)


async def _events(db: asyncpg.Connection, application_id: str) -> list[asyncpg.Record]:
    return await db.fetch(
        "SELECT type, payload FROM events WHERE aggregate_type = 'loan_application'"
        " AND aggregate_id = $1 ORDER BY id",
        application_id,
    )


async def test_the_three_products_are_listed(http: httpx.AsyncClient) -> None:
    reply = await http.get("/v1/loan-products")
    assert reply.status_code == 200, reply.text
    items = {item["code"]: item for item in reply.json()["items"]}
    assert set(items) >= {"credit_loan", "overdraft_line", "emergency_loan"}
    assert items["emergency_loan"] == {
        "code": "emergency_loan",
        "name": "Emergency loan",
        "currency": "KRW",
        "amount_min": 500_000,
        "amount_max": 3_000_000,
        "term_months_min": 1,
        "term_months_max": 12,
        "guarantee_required": True,
    }
    assert items["credit_loan"]["guarantee_required"] is False


async def test_a_prime_applicant_is_approved_in_the_background(
    http: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    applicant = await new_applicant(http, prime)
    pending = await applicant.submit(amount=12_000_000, term_months=12)
    assert pending["stage"] in ("queued", "bureau") and pending["decision"] is None
    decided = await wait_for(http, pending["id"])
    assert decided["status"] == "approved" and decided["stage"] == "decided"
    assert decided["decision"] == {
        "bureau_score": applicant.report.score,
        "guarantee": None,
        "rate_bps": 450,  # the top band of the credit loan's grid (score >= 850)
        "limit": 12_000_000,
        "reasons": [],
    }
    decided_at = datetime.fromisoformat(decided["decided_at"])
    assert datetime.fromisoformat(decided["offer_expires_at"]) - decided_at == timedelta(days=7)
    row = await db.fetchrow("SELECT * FROM loan_applications WHERE id = $1::uuid", pending["id"])
    assert row["inquiry_key"] == f"la-{pending['id']}" and row["policy_version"] == 1
    assert row["resident_id_sealed"] is not None
    assert applicant.resident_id.replace("-", "").encode() not in row["resident_id_sealed"]
    kinds = [e["type"] for e in await _events(db, pending["id"])]
    assert kinds == ["loan.applied", "loan.bureau_inquired", "loan.decided"]
    assert (await sim_stats(http))["bureau"]["distinct_inquiry_keys"] == 1


async def test_a_middle_score_gets_the_middle_band(http: httpx.AsyncClient) -> None:
    applicant = await new_applicant(http, good)
    decided = await wait_for(http, (await applicant.submit())["id"])
    assert decided["status"] == "approved"
    assert decided["decision"]["rate_bps"] == 900  # 650 <= score < 750


async def test_a_decline_gives_at_most_four_reasons_in_priority_order(
    http: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    applicant = await new_applicant(http, subprime)
    pending = await applicant.submit(annual_income=1_000_000)
    decided = await wait_for(http, pending["id"])
    assert decided["status"] == "declined"
    decision = decided["decision"]
    assert decision["bureau_score"] == applicant.report.score
    assert decision["rate_bps"] is None and decision["limit"] is None
    reasons = decision["reasons"]
    # Score, delinquencies, DTI, open loans and the grid (no band below 600) all fail, and
    # exposure too for debts above 99,000,000: the first four in priority are shown.
    debt_heavy = applicant.report.total_debt > 99_000_000
    assert reasons == [
        "score_below_cutoff",
        "recent_delinquencies",
        "debt_to_income_too_high",
        "exposure_too_high" if debt_heavy else "too_many_open_loans",
    ]
    assert reasons == sorted(reasons, key=REASONS.index)
    assert decided["offer_expires_at"] is None
    events = await _events(db, pending["id"])
    decided_event = events[-1]
    assert decided_event["type"] == "loan.decided"
    # Declined applicants' facts are kept: the bank's own scoring model learns from them.
    assert decided_event["payload"]["bureau"]["score"] == applicant.report.score
    assert decided_event["payload"]["approved"] is False


async def test_an_emergency_loan_is_approved_with_the_insurers_cover(
    http: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    applicant = await new_applicant(http, good)
    pending = await applicant.submit("emergency_loan")
    decided = await wait_for(http, pending["id"])
    assert decided["status"] == "approved", decided
    guarantee = decided["decision"]["guarantee"]
    assert guarantee == {
        "covered": True,
        "reason": None,
        "fee_rate_bps": 120,  # the insurer's fee for 650-749
        "coverage_bps": 9_000,
    }
    assert decided["decision"]["rate_bps"] == 900
    kinds = [e["type"] for e in await _events(db, pending["id"])]
    assert kinds == [
        "loan.applied",
        "loan.bureau_inquired",
        "loan.guarantee_quoted",
        "loan.decided",
    ]


async def test_an_emergency_loan_the_insurer_will_not_cover_is_declined(
    http: httpx.AsyncClient,
) -> None:
    applicant = await new_applicant(http, lambda r: 300 <= r.score < 600 and not r.delinquencies)
    decided = await wait_for(http, (await applicant.submit("emergency_loan"))["id"])
    assert decided["status"] == "declined"
    assert decided["decision"]["guarantee"]["covered"] is False
    assert decided["decision"]["guarantee"]["reason"] == "score_too_low"
    assert "guarantee_declined" in decided["decision"]["reasons"]


async def test_a_low_income_gets_a_counter_offer(http: httpx.AsyncClient) -> None:
    applicant = await new_applicant(http, prime)
    assert applicant.report.total_debt == 0
    # DTI 200 %: an income of 10,000,000 leaves room for 20,000,000 of debt.
    pending = await applicant.submit(amount=30_000_000, annual_income=10_000_000)
    decided = await wait_for(http, pending["id"])
    assert decided["status"] == "approved"
    assert decided["decision"]["limit"] == 20_000_000
    assert decided["amount"] == 30_000_000


async def test_without_a_stated_income_the_limit_is_capped(http: httpx.AsyncClient) -> None:
    applicant = await new_applicant(http, prime)
    pending = await applicant.submit(amount=20_000_000, annual_income=None)
    assert pending["annual_income"] is None
    decided = await wait_for(http, pending["id"])
    assert decided["status"] == "approved"
    assert decided["decision"]["limit"] == 5_000_000  # the policy's unstated-income cap


async def test_an_applicants_list_is_newest_first_and_paged(http: httpx.AsyncClient) -> None:
    applicant = await new_applicant(http, prime)
    ids = [(await applicant.submit(amount=1_000_000 * (i + 1)))["id"] for i in range(3)]
    first = await http.get(
        "/v1/loan-applications", params={"customer_id": applicant.customer_id, "limit": 2}
    )
    assert first.status_code == 200, first.text
    page = first.json()
    assert [item["id"] for item in page["items"]] == ids[::-1][:2]
    rest = await http.get(
        "/v1/loan-applications",
        params={"customer_id": applicant.customer_id, "cursor": page["next_cursor"]},
    )
    assert [item["id"] for item in rest.json()["items"]] == ids[:1]
    assert rest.json()["next_cursor"] is None
    report = report_of(applicant.resident_id)
    assert report.score >= 850


async def test_open_offers_count_as_exposure_for_the_next_application(
    http: httpx.AsyncClient,
) -> None:
    # Income 10,000,000 and 200% DTI: 20,000,000 of debt in all. A first offer of 15,000,000
    # leaves 5,000,000 for a second application of 15,000,000 (a counter-offer), not a second
    # full approval against the same headroom.
    applicant = await new_applicant(http, prime)
    first = await wait_for(
        http, (await applicant.submit(amount=15_000_000, annual_income=10_000_000))["id"]
    )
    assert first["status"] == "approved" and first["decision"]["limit"] == 15_000_000
    second = await wait_for(
        http, (await applicant.submit(amount=15_000_000, annual_income=10_000_000))["id"]
    )
    assert second["status"] == "approved", second
    assert second["decision"]["limit"] == 5_000_000
    # Withdrawn, the first offer no longer counts: 20,000,000 - the second's 5,000,000 is room
    # for the whole 15,000,000.
    cancelled = await post(http, f"/v1/loan-applications/{first['id']}/cancel", None)
    assert cancelled.status_code == 200, cancelled.text
    third = await wait_for(
        http, (await applicant.submit(amount=15_000_000, annual_income=10_000_000))["id"]
    )
    assert third["decision"]["limit"] == 15_000_000
