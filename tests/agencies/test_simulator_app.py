"""The simulator app over HTTP (in-process): every endpoint, run-time knobs, 503s, 429s, stats."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from neobank.agencies import AgencyKnobs, SimulatorConfig, create_simulator_app
from tests.agencies.ids import resident_id

FAST = AgencyKnobs(latency_ms=2, error_rate=0, capacity_rps=10_000)
ALICE = resident_id("900101123456")
STOLEN = resident_id("850505234567")


@pytest.fixture
async def sim() -> AsyncIterator[httpx.AsyncClient]:
    config = SimulatorConfig(
        identity=FAST,
        bureau=FAST,
        guarantee=FAST,
        clearing=FAST,
        stolen_resident_ids=frozenset({STOLEN.replace("-", "")}),
    )
    transport = httpx.ASGITransport(app=create_simulator_app(config, seed=1))
    async with httpx.AsyncClient(transport=transport, base_url="http://sim") as client:
        yield client


async def _stats(sim: httpx.AsyncClient, agency: str) -> dict[str, int]:
    stats: dict[str, int] = (await sim.get("/_sim/stats")).json()[agency]
    return stats


async def test_identity_verifies_and_refuses(sim: httpx.AsyncClient) -> None:
    card = {"name": "Kim Minji", "resident_id": ALICE, "issue_date": "2015-05-01"}
    ok = await sim.post("/identity/verifications", json=card)
    assert ok.status_code == 200
    assert ok.json()["verified"] is True and ok.json()["reason"] is None
    stolen = await sim.post("/identity/verifications", json={**card, "resident_id": STOLEN})
    assert stolen.json() == {**stolen.json(), "verified": False, "reason": "reported_stolen"}
    future = await sim.post("/identity/verifications", json={**card, "issue_date": "2999-01-01"})
    assert future.json()["reason"] == "invalid_issue_date"
    malformed = await sim.post("/identity/verifications", json={**card, "resident_id": "12"})
    assert malformed.status_code == 422
    assert await _stats(sim, "identity") == {
        "requests": 4,
        "ok": 3,
        "errors": 0,
        "throttled": 0,
        "invalid": 1,
    }


async def test_bureau_answers_the_same_for_a_key_and_counts_it_once(
    sim: httpx.AsyncClient,
) -> None:
    first = await sim.post("/bureau/inquiries", json={"inquiry_key": "a1", "resident_id": ALICE})
    assert first.status_code == 200 and 300 <= first.json()["score"] <= 950
    again = await sim.post("/bureau/inquiries", json={"inquiry_key": "a1", "resident_id": ALICE})
    assert again.json() == first.json()
    other = await sim.post("/bureau/inquiries", json={"inquiry_key": "a2", "resident_id": ALICE})
    assert other.json()["score"] == first.json()["score"]
    conflict = await sim.post(
        "/bureau/inquiries", json={"inquiry_key": "a1", "resident_id": STOLEN}
    )
    assert conflict.status_code == 409
    assert conflict.json()["code"] == "inquiry_key_conflict"
    stats = await _stats(sim, "bureau")
    assert (stats["inquiries"], stats["distinct_inquiry_keys"]) == (4, 2)
    assert (stats["requests"], stats["ok"], stats["invalid"]) == (4, 3, 1)


async def test_guarantee_quotes(sim: httpx.AsyncClient) -> None:
    body = {"score": 880, "amount": 20_000_000, "product": "credit_line"}
    covered = await sim.post("/guarantee/quotes", json=body)
    assert covered.status_code == 200
    assert covered.json() | {"quote_id": None} == {
        "quote_id": None,
        "covered": True,
        "reason": None,
        "fee_rate_bps": 50,
        "coverage_bps": 9000,
    }
    refused = await sim.post("/guarantee/quotes", json={**body, "score": 500})
    assert (refused.json()["covered"], refused.json()["reason"]) == (False, "score_too_low")


async def test_clearing_delivers_credits_and_lists_them_with_memos(
    sim: httpx.AsyncClient,
) -> None:
    credit = {"bank_code": "088", "account_number": "110-222-333", "amount": 1, "memo": "NB 4821"}
    sent = await sim.post("/clearing/credits", json={**credit, "currency": "KRW"})
    assert sent.status_code == 201 and sent.json()["credit_id"].startswith("clr_")
    once = {**credit, "reference": "onb-1", "memo": "NB 1111"}
    first = await sim.post("/clearing/credits", json=once)
    assert (await sim.post("/clearing/credits", json=once)).json() == first.json()
    listed = await sim.get("/_sim/clearing/credits", params={"account_number": "110-222-333"})
    assert [c["memo"] for c in listed.json()["items"]] == ["NB 4821", "NB 1111"]
    assert listed.json()["items"][0]["amount"] == 1
    none = await sim.get("/_sim/clearing/credits", params={"account_number": "999999"})
    assert none.json() == {"items": []}
    assert (
        await sim.post("/clearing/credits", json={**credit, "bank_code": "x"})
    ).status_code == 422


async def test_error_rate_one_answers_503_problem_json(sim: httpx.AsyncClient) -> None:
    changed = await sim.put("/_sim/config", json={"guarantee": {"error_rate": 1.0}})
    assert changed.status_code == 200
    assert changed.json()["guarantee"] == {
        "latency_ms": 2,
        "error_rate": 1.0,
        "capacity_rps": 10_000,
    }
    body = {"score": 880, "amount": 1_000, "product": "credit_line"}
    for _ in range(5):
        failed = await sim.post("/guarantee/quotes", json=body)
        assert failed.status_code == 503
        assert failed.headers["content-type"] == "application/problem+json"
        assert failed.json()["code"] == "agency_unavailable" and failed.json()["status"] == 503
    await sim.put("/_sim/config", json={"guarantee": {"error_rate": 0}})
    assert (await sim.post("/guarantee/quotes", json=body)).status_code == 200
    stats = await _stats(sim, "guarantee")
    assert (stats["requests"], stats["errors"], stats["ok"]) == (6, 5, 1)


async def test_error_rate_between_answers_some(sim: httpx.AsyncClient) -> None:
    await sim.put("/_sim/config", json={"identity": {"error_rate": 0.5, "latency_ms": 0}})
    card = {"name": "Kim", "resident_id": ALICE, "issue_date": "2015-05-01"}
    codes = [(await sim.post("/identity/verifications", json=card)).status_code for _ in range(200)]
    assert 60 < codes.count(503) < 140 and codes.count(503) + codes.count(200) == 200


async def test_capacity_answers_429_with_retry_after_beyond_the_bucket(
    sim: httpx.AsyncClient,
) -> None:
    await sim.put("/_sim/config", json={"bureau": {"capacity_rps": 5, "latency_ms": 0}})
    codes = []
    for n in range(8):
        answer = await sim.post(
            "/bureau/inquiries", json={"inquiry_key": f"k{n}", "resident_id": ALICE}
        )
        codes.append(answer.status_code)
        if answer.status_code == 429:
            assert int(answer.headers["retry-after"]) >= 1
            assert answer.headers["content-type"] == "application/problem+json"
            assert answer.json()["code"] == "agency_throttled"
    assert codes[:5] == [200] * 5 and codes[5:] == [429] * 3
    stats = await _stats(sim, "bureau")
    assert (stats["requests"], stats["ok"], stats["throttled"]) == (8, 5, 3)
    assert stats["distinct_inquiry_keys"] == 5  # a throttled inquiry is no inquiry
    # Other agencies have their own buckets.
    assert (
        await sim.post(
            "/guarantee/quotes", json={"score": 700, "amount": 1, "product": "credit_line"}
        )
    ).status_code == 200


async def test_config_is_validated_and_partial(sim: httpx.AsyncClient) -> None:
    before = (await sim.get("/_sim/config")).json()
    assert set(before) == {"identity", "bureau", "guarantee", "clearing"}
    for bad in (
        {"identity": {"error_rate": 1.5}},
        {"identity": {"capacity_rps": 0}},
        {"identity": {"latency_ms": -1}},
        {"identity": {"jitter": 3}},
        {"police": {"latency_ms": 3}},
    ):
        assert (await sim.put("/_sim/config", json=bad)).status_code == 422, bad
    assert (await sim.get("/_sim/config")).json() == before
    after = await sim.put("/_sim/config", json={"clearing": {"latency_ms": 7}})
    assert after.json()["clearing"] == {**before["clearing"], "latency_ms": 7}
    assert after.json()["identity"] == before["identity"]


async def test_sim_endpoints_are_not_counted(sim: httpx.AsyncClient) -> None:
    await sim.get("/_sim/config")
    await sim.get("/_sim/clearing/credits", params={"account_number": "1"})
    stats = (await sim.get("/_sim/stats")).json()
    assert all(agency["requests"] == 0 for agency in stats.values())
