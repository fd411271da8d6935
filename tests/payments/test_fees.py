"""Fee rules, launch promotions and the fee report over HTTP, and the waiver arithmetic."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from neobank.payments.fees import FeeRule, Promotion, quote_fee
from tests.conftest import BankDriver
from tests.payments.helpers import KRW, events, promotion, set_fee

NOON = datetime(2026, 12, 1, 12, tzinfo=UTC)


def promo(percent: int, start: datetime, end: datetime, kinds: tuple[str, ...] = ("internal",)):  # type: ignore[no-untyped-def]
    return Promotion(uuid.uuid4(), f"{percent}%", kinds, percent, start, end)


@pytest.mark.parametrize(
    ("fee", "percent", "waived"),
    [(500, 50, 250), (501, 50, 251), (1, 50, 1), (333, 10, 34), (999, 100, 999), (500, 0, 0)],
)
def test_waiver_rounds_in_the_customers_favour(fee: int, percent: int, waived: int) -> None:
    rules = [FeeRule("internal", KRW, fee)]
    window = promo(percent, NOON - timedelta(hours=1), NOON + timedelta(hours=1))
    quote = quote_fee(rules, [window], "internal", KRW, NOON)
    assert (quote.gross, quote.waived, quote.charged) == (fee, waived, fee - waived)
    assert (quote.promotion is None) == (percent == 0)


def test_promotion_window_is_half_open_and_kind_bound() -> None:
    rules = [FeeRule("internal", KRW, 500), FeeRule("interbank", KRW, 700)]
    window = promo(100, NOON, NOON + timedelta(hours=1))
    assert quote_fee(rules, [window], "internal", KRW, NOON).waived == 500
    assert quote_fee(rules, [window], "internal", KRW, NOON - timedelta(microseconds=1)).waived == 0
    assert quote_fee(rules, [window], "internal", KRW, NOON + timedelta(hours=1)).waived == 0
    assert quote_fee(rules, [window], "interbank", KRW, NOON).waived == 0
    assert quote_fee(rules, [window], "internal", "USD", NOON).gross == 0


def test_most_generous_promotion_wins() -> None:
    rules = [FeeRule("internal", KRW, 500)]
    span = (NOON - timedelta(hours=1), NOON + timedelta(hours=1))
    quote = quote_fee(
        rules, [promo(30, *span), promo(70, *span), promo(50, *span)], "internal", KRW, NOON
    )
    assert quote.promotion is not None and quote.promotion.waive_percent == 70
    assert quote.waived == 350


async def test_fee_rules_are_set_listed_and_evented(
    bank: BankDriver, db: asyncpg.Connection
) -> None:
    assert (await bank.client.get("/v1/fees/rules")).json()["items"] == []
    await set_fee(bank, 500)
    await set_fee(bank, 1_000, kind="interbank")
    updated = await set_fee(bank, 300)
    assert (updated["kind"], updated["amount"], updated["currency"]) == ("internal", 300, KRW)
    listed = (await bank.client.get("/v1/fees/rules")).json()["items"]
    assert [(r["kind"], r["amount"]) for r in listed] == [("interbank", 1_000), ("internal", 300)]
    assert [e["amount"] for e in await events(db, "fee_rule.set")] == [500, 1_000, 300]
    bad = await bank.post("/v1/fees/rules", {"kind": "teleport", "amount": 1, "currency": KRW})
    assert bad.status_code == 422
    negative = await bank.post(
        "/v1/fees/rules", {"kind": "internal", "amount": -1, "currency": KRW}
    )
    assert negative.status_code == 422


async def test_new_fee_applies_to_the_next_transfer(bank: BankDriver) -> None:
    payer = await bank.account(funded=100_000)
    payee = await bank.account()
    assert (await bank.transfer(payer["id"], payee["id"], 1_000)).json()["fee"]["amount"] == 0
    await set_fee(bank, 400)
    assert (await bank.transfer(payer["id"], payee["id"], 1_000)).json()["fee"]["amount"] == 400
    await set_fee(bank, 0)
    assert (await bank.transfer(payer["id"], payee["id"], 1_000)).json()["fee"]["amount"] == 0


@pytest.mark.parametrize(("percent", "charged", "waived"), [(50, 250, 251), (100, 0, 501)])
async def test_promotion_waives_and_is_named_on_the_transfer(
    bank: BankDriver, db: asyncpg.Connection, percent: int, charged: int, waived: int
) -> None:
    await set_fee(bank, 501)
    created = await promotion(bank, percent, name="Launch week")
    assert created["waive_percent"] == percent
    (event,) = await events(db, "promotion.created")
    assert event["id"] == created["id"]
    payer = await bank.account(funded=100_000)
    payee = await bank.account()
    response = await bank.transfer(payer["id"], payee["id"], 10_000)
    assert response.status_code == 201, response.text
    fee = response.json()["fee"]
    assert fee == {"amount": charged, "waived_amount": waived, "promotion": "Launch week"}
    assert await bank.balance(payer["id"]) == 100_000 - 10_000 - charged
    fetched = await bank.client.get(f"/v1/transfers/{response.json()['id']}")
    assert fetched.json()["fee"] == fee
    (posted,) = [e for e in await events(db, "transfer.posted") if e["kind"] == "internal"]
    assert posted["fee"] == fee
    assert posted["promotion_id"] == created["id"]
    kinds = [
        i["kind"]
        for i in (await bank.client.get(f"/v1/accounts/{payer['id']}/transactions")).json()["items"]
    ]
    assert kinds.count("fee") == (1 if charged else 0)


async def test_promotion_outside_its_window_waives_nothing(bank: BankDriver) -> None:
    await set_fee(bank, 500)
    await promotion(bank, 100, name="Later", starts_in=timedelta(hours=1))
    await promotion(bank, 100, name="Over", starts_in=timedelta(days=-2), lasts=timedelta(days=1))
    await promotion(bank, 100, name="Elsewhere", kinds=("interbank", "atm_withdrawal"))
    payer = await bank.account(funded=100_000)
    payee = await bank.account()
    fee = (await bank.transfer(payer["id"], payee["id"], 1_000)).json()["fee"]
    assert fee == {"amount": 500, "waived_amount": 0, "promotion": None}


async def test_most_generous_active_promotion_wins(bank: BankDriver) -> None:
    await set_fee(bank, 500)
    await promotion(bank, 50, name="Half")
    await promotion(bank, 100, name="Free", starts_in=timedelta(hours=1))  # not started
    await promotion(bank, 80, name="Most")
    payer = await bank.account(funded=100_000)
    payee = await bank.account()
    fee = (await bank.transfer(payer["id"], payee["id"], 1_000)).json()["fee"]
    assert fee == {"amount": 100, "waived_amount": 400, "promotion": "Most"}


async def test_promotion_validation(bank: BankDriver) -> None:
    start = datetime.now(UTC)
    body = {
        "name": "x",
        "kinds": ["internal"],
        "waive_percent": 50,
        "starts_at": start.isoformat(),
        "ends_at": start.isoformat(),
    }
    same = await bank.post("/v1/fees/promotions", body)
    assert (same.status_code, same.json()["code"]) == (422, "promotion_invalid")
    naive = {**body, "starts_at": "2026-01-01T00:00:00", "ends_at": "2026-02-01T00:00:00"}
    assert (await bank.post("/v1/fees/promotions", naive)).json()["code"] == "promotion_invalid"
    for change in ({"waive_percent": 101}, {"kinds": []}, {"kinds": ["teleport"]}):
        assert (await bank.post("/v1/fees/promotions", {**body, **change})).status_code == 422
    listed = (await bank.client.get("/v1/fees/promotions")).json()["items"]
    assert listed == []


async def test_fee_report_sums_charged_and_waived_in_a_window(
    bank: BankDriver, db: asyncpg.Connection
) -> None:
    payer = await bank.account(funded=1_000_000)
    payee = await bank.account()
    await set_fee(bank, 500)
    await bank.transfer(payer["id"], payee["id"], 1_000)  # 500 charged
    await promotion(bank, 50)
    await bank.transfer(payer["id"], payee["id"], 1_000)  # 250 charged, 250 waived
    await promotion(bank, 100)
    await bank.transfer(payer["id"], payee["id"], 1_000)  # 500 waived
    report = (await bank.client.get("/v1/reports/fees")).json()
    assert (report["charged"], report["waived"]) == (750, 750)
    assert report["by_kind"] == {"internal": {"charged": 750, "waived": 750}}

    # Move the first transfer to yesterday: the window [from, to) includes from, excludes to.
    first = await db.fetchval("SELECT id FROM payments WHERE fee_amount = 500")
    yesterday = datetime.now(UTC) - timedelta(days=1)
    await db.execute("UPDATE payments SET created_at = $2 WHERE id = $1", first, yesterday)
    since_then = {"from": yesterday.isoformat(), "to": (yesterday + timedelta(hours=1)).isoformat()}
    only_first = (await bank.client.get("/v1/reports/fees", params=since_then)).json()
    assert (only_first["charged"], only_first["waived"]) == (500, 0)
    before = {"to": yesterday.isoformat()}
    assert (await bank.client.get("/v1/reports/fees", params=before)).json()["charged"] == 0
    after = {"from": (yesterday + timedelta(microseconds=1)).isoformat()}
    rest = (await bank.client.get("/v1/reports/fees", params=after)).json()
    assert (rest["charged"], rest["waived"]) == (250, 750)


async def test_fee_report_refuses_bad_ranges(bank: BankDriver) -> None:
    now = datetime.now(UTC)
    backwards = {"from": now.isoformat(), "to": (now - timedelta(days=1)).isoformat()}
    for params in (backwards, {"from": "2026-01-01T00:00:00"}, {"from": "yesterday"}):
        response = await bank.client.get("/v1/reports/fees", params=params)
        assert response.status_code == 422, params
        assert response.json()["code"] in ("report_range_invalid", "validation_error")
