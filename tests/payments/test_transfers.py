"""Transfers and deposits over HTTP: fees, refusals, limits, who may read what, events."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from typing import Any

import asyncpg

from neobank.ledger.chart import AccountCode, bank_account_id
from tests.conftest import BankDriver
from tests.payments.helpers import (
    KRW,
    account_view,
    count,
    customer_client,
    events,
    history,
    new_id,
    set_fee,
)

FEE_INCOME = bank_account_id(AccountCode.FEE_INCOME, KRW)


async def fee_income(db: asyncpg.Connection) -> int:
    row = await db.fetchrow(
        "SELECT credits_posted - debits_posted AS net FROM ledger_accounts WHERE id = $1",
        FEE_INCOME,
    )
    return int(row["net"])


async def test_fee_goes_to_fee_income_in_the_same_commit(
    bank: BankDriver, db: asyncpg.Connection
) -> None:
    await set_fee(bank, 500)
    payer = await bank.account(funded=100_000)
    payee = await bank.account()
    response = await bank.transfer(payer["id"], payee["id"], 10_000)
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["fee"] == {"amount": 500, "waived_amount": 0, "promotion": None}
    assert (body["kind"], body["amount"], body["status"]) == ("internal", 10_000, "posted")
    assert await bank.balance(payer["id"]) == 89_500
    assert await bank.balance(payee["id"]) == 10_000
    assert await fee_income(db) == 500
    # Principal and fee carry the same commit timestamp.
    stamps = await db.fetch(
        "SELECT DISTINCT created_at FROM transfers WHERE debit_account_id = $1",
        uuid.UUID(payer["id"]),
    )
    assert len(stamps) == 1
    items = await history(bank, payer["id"])
    assert [(i["kind"], i["amount"], i["balance_after"]) for i in items[:2]] == [
        ("fee", 500, 89_500),
        ("internal", 10_000, 90_000),
    ]
    assert items[1]["counterparty_account_id"] == payee["id"]
    assert [i["kind"] for i in await history(bank, payee["id"])] == ["internal"]
    fetched = await bank.client.get(f"/v1/transfers/{body['id']}")
    assert fetched.json() == body
    (event,) = [e for e in await events(db, "transfer.posted") if e["id"] == body["id"]]
    assert event["fee"] == body["fee"]
    assert event["fee_gross"] == 500
    assert (await bank.check())["balanced"] is True


async def test_amount_fits_but_amount_plus_fee_does_not(
    bank: BankDriver, db: asyncpg.Connection
) -> None:
    await set_fee(bank, 500)
    payer = await bank.account(funded=10_000)
    payee = await bank.account()
    before = await count(db, "transfers")
    response = await bank.transfer(payer["id"], payee["id"], 10_000)
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["code"] == "insufficient_funds"
    assert {"type", "title", "status", "detail"} <= set(problem)
    assert await count(db, "transfers") == before
    assert await count(db, "payments") == 1  # the deposit only
    assert await bank.balance(payer["id"]) == 10_000
    assert await bank.balance(payee["id"]) == 0
    assert await fee_income(db) == 0
    (event,) = await events(db, "transfer.rejected")
    assert event["code"] == "insufficient_funds"
    assert event["fee"] == {"amount": 500, "waived_amount": 0, "promotion": None}
    assert (event["amount"], event["from_account_id"]) == (10_000, payer["id"])
    assert (await bank.transfer(payer["id"], payee["id"], 9_500)).status_code == 201
    assert await bank.balance(payer["id"]) == 0


async def test_refusals_with_stable_codes(bank: BankDriver, db: asyncpg.Connection) -> None:
    a = await bank.account(funded=1_000)
    b = await bank.account()
    cases: list[tuple[dict[str, Any], int, str]] = [
        ({"to_account_id": a["id"]}, 422, "same_account"),
        ({"currency": "USD"}, 422, "currency_mismatch"),
        ({"to_account_id": new_id()}, 404, "account_not_found"),
        ({"from_account_id": new_id()}, 404, "account_not_found"),
        ({"amount": 0}, 422, "validation_error"),
        ({"amount": 1.5}, 422, "validation_error"),
        ({"amount": "100"}, 422, "validation_error"),
    ]
    base = {"from_account_id": a["id"], "to_account_id": b["id"], "amount": 100, "currency": KRW}
    for change, status, code in cases:
        response = await bank.post("/v1/transfers", {**base, **change})
        assert (response.status_code, response.json()["code"]) == (status, code), change
    assert await count(db, "payments") == 1
    assert await bank.balance(a["id"]) == 1_000


async def test_closed_account_refuses_transfers(bank: BankDriver) -> None:
    a = await bank.account(funded=1_000)
    b = await bank.account()
    closed = await bank.post(f"/v1/accounts/{b['id']}/status", {"status": "closed"})
    assert closed.status_code == 200, closed.text
    response = await bank.transfer(a["id"], b["id"], 100)
    assert (response.status_code, response.json()["code"]) == (422, "account_closed")


async def test_daily_limit_over_several_transfers(bank: BankDriver) -> None:
    payer = await bank.account(funded=60_000_000)
    payee = await bank.account()
    for amount in (30_000_000, 15_000_000, 5_000_000):
        assert (await bank.transfer(payer["id"], payee["id"], amount)).status_code == 201
    over = await bank.transfer(payer["id"], payee["id"], 1)
    assert (over.status_code, over.json()["code"]) == (422, "limit_exceeded")
    assert await bank.balance(payer["id"]) == 10_000_000
    # Money coming in does not count against the limit.
    assert (await bank.transfer(payee["id"], payer["id"], 1_000)).status_code == 201


async def test_customer_moves_only_from_their_own_accounts(app: Any, bank: BankDriver) -> None:
    kim = await bank.customer("Kim")
    lee = await bank.customer("Lee")
    kims = await bank.account(kim["id"], funded=50_000)
    lees = await bank.account(lee["id"], funded=50_000)
    async with customer_client(app, bank, kim["id"]) as as_kim:
        theft = await as_kim.transfer(lees["id"], kims["id"], 1_000)
        assert (theft.status_code, theft.json()["code"]) == (404, "account_not_found")
        paid = await as_kim.transfer(kims["id"], lees["id"], 1_000)
        assert paid.status_code == 201, paid.text
        transfer_id = paid.json()["id"]
        assert (await as_kim.client.get(f"/v1/transfers/{transfer_id}")).status_code == 200
        batch = await as_kim.post("/v1/transfers/batch", {"transfers": []})
        assert batch.status_code in (403, 422)
        deposit = await as_kim.post(
            "/v1/deposits", {"account_id": kims["id"], "amount": 1, "currency": KRW}
        )
        assert (deposit.status_code, deposit.json()["code"]) == (403, "forbidden")
    async with customer_client(app, bank, lee["id"]) as as_lee:
        seen = await as_lee.client.get(f"/v1/transfers/{transfer_id}")
        assert seen.status_code == 200  # the payee is involved too
    stranger = await bank.customer("Park")
    async with customer_client(app, bank, stranger["id"]) as as_park:
        hidden = await as_park.client.get(f"/v1/transfers/{transfer_id}")
        assert (hidden.status_code, hidden.json()["code"]) == (404, "transfer_not_found")
    assert (await bank.client.get(f"/v1/transfers/{transfer_id}")).status_code == 200
    assert await bank.balance(lees["id"]) == 51_000


async def test_unknown_transfer_is_404(bank: BankDriver) -> None:
    response = await bank.client.get(f"/v1/transfers/{new_id()}")
    assert (response.status_code, response.json()["code"]) == (404, "transfer_not_found")


async def test_deposit_credits_the_account_from_cash(
    bank: BankDriver, db: asyncpg.Connection
) -> None:
    await set_fee(bank, 500)  # deposits pay no fee
    account = await bank.account()
    deposit = await bank.post(
        "/v1/deposits",
        {"account_id": account["id"], "amount": 70_000, "currency": KRW, "memo": "Cash in"},
    )
    assert deposit.status_code == 201, deposit.text
    body = deposit.json()
    assert (body["kind"], body["from_account_id"], body["memo"]) == ("deposit", None, "Cash in")
    assert body["fee"] == {"amount": 0, "waived_amount": 0, "promotion": None}
    view = await account_view(bank, account["id"])
    assert (view["balance"], view["available_balance"]) == (70_000, 70_000)
    (entry,) = await history(bank, account["id"])
    assert (entry["direction"], entry["kind"], entry["memo"]) == ("credit", "deposit", "Cash in")
    unknown = await bank.post(
        "/v1/deposits", {"account_id": new_id(), "amount": 1, "currency": KRW}
    )
    assert (unknown.status_code, unknown.json()["code"]) == (404, "account_not_found")
    usd = await bank.post(
        "/v1/deposits", {"account_id": account["id"], "amount": 1, "currency": "USD"}
    )
    assert (usd.status_code, usd.json()["code"]) == (422, "currency_mismatch")
    assert len(await events(db, "transfer.posted")) == 1


async def test_idempotency_key_is_required(bank: BankDriver) -> None:
    a = await bank.account(funded=1_000)
    b = await bank.account()
    body = {"from_account_id": a["id"], "to_account_id": b["id"], "amount": 1, "currency": KRW}
    response = await bank.client.post("/v1/transfers", json=body)
    assert (response.status_code, response.json()["code"]) == (400, "idempotency_key_required")
    too_long = await bank.post("/v1/transfers", body, key="k" * 256)
    assert too_long.status_code == 400
    assert (await bank.post("/v1/transfers", body, key="k" * 255)).status_code == 201


async def test_concurrent_transfers_never_overdraw(
    bank: BankDriver, db: asyncpg.Connection
) -> None:
    await set_fee(bank, 100)
    payer = await bank.account(funded=10_000)
    payee = await bank.account()
    responses = await asyncio.gather(
        *(bank.transfer(payer["id"], payee["id"], 1_000) for _ in range(20))
    )
    codes = Counter(r.json().get("code", r.status_code) for r in responses)
    assert codes == {201: 9, "insufficient_funds": 11}
    assert await bank.balance(payer["id"]) == 100
    assert await bank.balance(payee["id"]) == 9_000
    assert await fee_income(db) == 900
    assert (await bank.check())["balanced"] is True


async def test_a_memo_must_be_one_printable_line(bank: BankDriver) -> None:
    a = await bank.account(funded=10_000)
    b = await bank.account()
    for memo in ("two\nlines", "bell\x07", "nul\x00", "sep\u2028"):
        body = {
            "from_account_id": a["id"],
            "to_account_id": b["id"],
            "amount": 1,
            "currency": "KRW",
            "memo": memo,
        }
        response = await bank.post("/v1/transfers", body)
        assert response.status_code == 422, (memo, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")
    ok = await bank.transfer(
        a["id"],
        b["id"],
        1,
    )
    assert ok.status_code == 201
    korean = {
        "from_account_id": a["id"],
        "to_account_id": b["id"],
        "amount": 1,
        "currency": "KRW",
        "memo": "저녁 식사 🍜",
    }
    assert (await bank.post("/v1/transfers", korean)).status_code == 201
