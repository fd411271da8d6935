"""Maker-checker: a proposed change enters the catalog only with a second person's approval,
from its effective_at on; what the products list and a new decision use follows it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import asyncpg
import httpx

from neobank.lending import catalog
from neobank.lending.policy import ApplicationFacts, BureauFacts, decide
from tests.ops.conftest import Team, post, propose

NEW_GRID = [{"score_min": 800, "rate_bps": 390}, {"score_min": 600, "rate_bps": 1100}]
BUREAU_800 = BureauFacts(score=800, grade=2, open_loans=0, delinquencies=0, total_debt=0)
FACTS = ApplicationFacts("credit_loan", 10_000_000, 24, 60_000_000, 0)


async def _approve(
    client: httpx.AsyncClient, change_id: str, headers: dict[str, str]
) -> httpx.Response:
    return await post(
        client, f"/v1/ops/changes/{change_id}/approve", {"comment": "committee 11/24"}, headers
    )


async def _rate_now(db: asyncpg.Connection) -> int | None:
    """The rate a new decision gives a score of 800 with what is in force now."""
    now = datetime.now(UTC)
    product = await catalog.current_product(db, "credit_loan", now)
    policy = await catalog.current_policy(db, now)
    return decide(product, policy, FACTS, BUREAU_800, None).rate_bps


async def test_an_approved_rate_grid_is_what_the_next_decision_uses(
    client: httpx.AsyncClient, team: Team, db: asyncpg.Connection
) -> None:
    assert await _rate_now(db) == 650

    proposed = await propose(
        client,
        team.maker,
        kind="loan_product",
        target="credit_loan",
        body={"rate_grid": NEW_GRID, "amount_max": 40_000_000},
    )
    assert proposed.status_code == 201, proposed.text
    change = proposed.json()
    assert change["status"] == "proposed" and change["base_version"] == 1
    assert change["diff"]["amount_max"] == {"from": 50_000_000, "to": 40_000_000}
    assert change["body"]["rate_grid"] == NEW_GRID and change["body"]["name"] == "Credit loan"
    # Proposed is not in force.
    assert (await catalog.current_product(db, "credit_loan", datetime.now(UTC))).version == 1

    approved = await _approve(client, change["id"], team.checker)
    assert approved.status_code == 200, approved.text
    done = approved.json()
    assert done["status"] == "effective" and done["applied_version"] == 2
    assert done["decided_by"] == "jun" and done["comment"] == "committee 11/24"

    assert (await catalog.current_product(db, "credit_loan", datetime.now(UTC))).version == 2
    assert await _rate_now(db) == 390
    listing = (await client.get("/v1/loan-products")).json()["items"]
    assert {p["code"]: p["amount_max"] for p in listing}["credit_loan"] == 40_000_000
    assert (
        await db.fetchval(
            "SELECT change_id::text FROM loan_product_versions "
            "WHERE code = 'credit_loan' AND version = 2"
        )
        == change["id"]
    )


async def test_a_scheduled_change_is_approved_until_its_effective_at(
    client: httpx.AsyncClient, team: Team, db: asyncpg.Connection
) -> None:
    at = datetime.now(UTC) + timedelta(hours=2)
    proposed = await propose(
        client,
        team.maker,
        kind="credit_policy",
        target="policy",
        body={"score_cutoffs": {"credit_loan": 700, "overdraft_line": 650, "emergency_loan": 300}},
        effective_at=at.isoformat(),
    )
    assert proposed.status_code == 201, proposed.text
    change_id = proposed.json()["id"]
    approved = (await _approve(client, change_id, team.both)).json()
    assert approved["status"] == "approved" and approved["applied_version"] == 2
    assert (await catalog.current_policy(db, datetime.now(UTC))).score_cutoffs["credit_loan"] == 600
    assert (await catalog.current_policy(db, at)).score_cutoffs["credit_loan"] == 700
    listed = (await client.get("/v1/ops/changes?status=approved", headers=team.auditor)).json()
    assert [c["id"] for c in listed["items"]] == [change_id]
    effective = await client.get("/v1/ops/changes?status=effective", headers=team.auditor)
    assert effective.json()["items"] == []

    # A change that would take effect before the scheduled one is refused: it would be cut
    # short, then hidden, without anyone approving that.
    sooner = await propose(
        client, team.maker, kind="credit_policy", target="policy", body={"open_loans_max": 4}
    )
    refused = await _approve(client, sooner.json()["id"], team.checker)
    assert refused.status_code == 409 and refused.json()["code"] == "ops_change_out_of_order"
    # Proposed over the scheduled version (the latest), it keeps the scheduled cut-offs.
    assert sooner.json()["base_version"] == 2
    assert sooner.json()["body"]["score_cutoffs"]["credit_loan"] == 700


async def test_nobody_approves_or_rejects_their_own_change(
    client: httpx.AsyncClient, team: Team
) -> None:
    change = await propose(
        client,
        team.both,
        kind="loan_product",
        target="emergency_loan",
        body={"amount_max": 2_000_000},
    )
    change_id = change.json()["id"]
    own = await _approve(client, change_id, team.both)
    assert own.status_code == 409 and own.json()["code"] == "four_eyes_required"
    own = await post(client, f"/v1/ops/changes/{change_id}/reject", {"comment": "hmm"}, team.both)
    assert own.status_code == 409 and own.json()["code"] == "four_eyes_required"
    still = await client.get(f"/v1/ops/changes/{change_id}", headers=team.auditor)
    assert still.json()["status"] == "proposed"


async def test_reject_and_cancel_close_a_change(client: httpx.AsyncClient, team: Team) -> None:
    first = (
        await propose(
            client,
            team.maker,
            kind="loan_product",
            target="credit_loan",
            body={"amount_min": 2_000_000},
        )
    ).json()
    rejected = await post(
        client, f"/v1/ops/changes/{first['id']}/reject", {"comment": "too high"}, team.checker
    )
    assert rejected.status_code == 200
    assert rejected.json()["status"] == "rejected" and rejected.json()["comment"] == "too high"
    late = await _approve(client, first["id"], team.both)
    assert late.status_code == 409 and late.json()["code"] == "ops_change_not_pending"
    assert (
        await post(client, f"/v1/ops/changes/{first['id']}/reject", {}, team.checker)
    ).status_code == 422

    second = (
        await propose(
            client,
            team.maker,
            kind="loan_product",
            target="credit_loan",
            body={"amount_min": 1_500_000},
        )
    ).json()
    others = await post(client, f"/v1/ops/changes/{second['id']}/cancel", None, team.maker2)
    assert others.status_code == 403
    cancelled = await post(client, f"/v1/ops/changes/{second['id']}/cancel", None, team.maker)
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    assert cancelled.json()["decided_by"] is None
    assert (await _approve(client, second["id"], team.checker)).status_code == 409
    listed = (await client.get("/v1/ops/changes?status=rejected", headers=team.checker)).json()
    assert [c["id"] for c in listed["items"]] == [first["id"]]
    missing = await client.get(
        "/v1/ops/changes/00000000-0000-0000-0000-000000000000", headers=team.checker
    )
    assert missing.status_code == 404 and missing.json()["code"] == "ops_change_not_found"


async def test_a_change_proposed_over_an_old_version_is_stale(
    client: httpx.AsyncClient, team: Team
) -> None:
    one = (
        await propose(
            client,
            team.maker,
            kind="loan_product",
            target="overdraft_line",
            body={"amount_max": 20_000_000},
        )
    ).json()
    two = (
        await propose(
            client,
            team.maker2,
            kind="loan_product",
            target="overdraft_line",
            body={"amount_min": 2_000_000},
        )
    ).json()
    assert (await _approve(client, one["id"], team.checker)).status_code == 200
    # Approving two would silently undo one's amount_max (it was merged over version 1).
    stale = await _approve(client, two["id"], team.checker)
    assert stale.status_code == 409 and stale.json()["code"] == "ops_change_stale"
    again = (
        await propose(
            client,
            team.maker2,
            kind="loan_product",
            target="overdraft_line",
            body={"amount_min": 2_000_000},
        )
    ).json()
    assert again["base_version"] == 2 and again["body"]["amount_max"] == 20_000_000
    assert (await _approve(client, again["id"], team.checker)).json()["applied_version"] == 3


def _band(**band: object) -> dict[str, object]:
    return {"rate_grid": [band]}


# Each would not make a valid version of credit_loan (the comment says why).
PRODUCT_BODIES_REFUSED: list[dict[str, object]] = [
    {"rate_grid": []},  # no band
    {"colour": "red"},  # not a product field
    _band(score_min=600, rate_bps=450.5),  # never float
    _band(score_min="600", rate_bps=450),  # a string for a number
    _band(score_min=600),  # no rate
    _band(score_min=600, rate_bps=2_500),  # above the legal maximum of 20 %
    {"amount_min": 90_000_000},  # above amount_max
    {"amount_max": 50_000_000},  # the same as now: changes nothing
    {"guarantee_required": 1},  # an int for a bool
    {"late_rate_add_bps": 500},  # late interest above the contract rate + 3 %p
]
POLICY_BODIES_REFUSED: list[dict[str, object]] = [
    {"score_cutoffs": {"car_loan": 600}},  # no such product
    {"score_cutoffs": {"credit_loan": 1_200}},  # scores run to 1000
    {"dti_max_bps": -1},
]


async def test_bad_proposals_are_refused_with_a_clear_code(
    client: httpx.AsyncClient, team: Team
) -> None:
    async def refused(code: str, **change: object) -> None:
        response = await propose(client, team.maker, **change)
        assert (response.status_code, response.json()["code"]) == (422, code), response.text

    for body in PRODUCT_BODIES_REFUSED:
        await refused("invalid_change_body", kind="loan_product", target="credit_loan", body=body)
    for body in POLICY_BODIES_REFUSED:
        await refused("invalid_change_body", kind="credit_policy", target="policy", body=body)
    await refused("loan_product_not_found", kind="loan_product", target="car_loan", body={})
    await refused("invalid_change_target", kind="credit_policy", target="credit_loan", body={})
    policy = {"kind": "credit_policy", "target": "policy", "body": {"open_loans_max": 3}}
    await refused("invalid_effective_at", **policy, effective_at="2020-01-01T00:00:00Z")
    await refused("invalid_effective_at", **policy, effective_at="2099-01-01T00:00:00Z")
    await refused("validation_error", **policy, effective_at="2027-01-01T00:00:00")  # no zone
    await refused("validation_error", kind="loan_terms", target="policy", body={})
    listed = (await client.get("/v1/ops/changes", headers=team.maker)).json()
    assert listed["items"] == []


async def test_a_proposal_is_idempotent(client: httpx.AsyncClient, team: Team) -> None:
    change = {"kind": "loan_product", "target": "credit_loan", "body": {"amount_max": 45_000_000}}
    headers = {**team.maker, "Idempotency-Key": "propose-1"}
    first = await client.post("/v1/ops/changes", json=change, headers=headers)
    again = await client.post("/v1/ops/changes", json=change, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.json()["id"] == first.json()["id"]
    assert again.headers.get("Idempotent-Replayed") == "true"
    # Keys are per ops user: another maker's same key is another proposal.
    other = await client.post(
        "/v1/ops/changes", json=change, headers={**team.maker2, "Idempotency-Key": "propose-1"}
    )
    assert other.status_code == 201 and other.json()["id"] != first.json()["id"]
    keyless = await client.post("/v1/ops/changes", json=change, headers=team.maker)
    assert keyless.status_code == 400 and keyless.json()["code"] == "idempotency_key_required"
