"""A first end-to-end pass: open accounts, fund, transfer, read history, check the ledger."""

from __future__ import annotations

from tests.conftest import BankDriver


async def test_transfer_moves_money_and_books_balance(bank: BankDriver) -> None:
    a = await bank.account(funded=100_000)
    b = await bank.account()
    response = await bank.transfer(a["id"], b["id"], 30_000)
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["status"] == "posted"
    assert body["fee"] == {"amount": 0, "waived_amount": 0, "promotion": None}
    assert await bank.balance(a["id"]) == 70_000
    assert await bank.balance(b["id"]) == 30_000
    history = (await bank.client.get(f"/v1/accounts/{a['id']}/transactions")).json()
    assert [i["balance_after"] for i in history["items"]] == [70_000, 100_000]
    assert history["items"][0]["direction"] == "debit"
    assert (await bank.check())["balanced"] is True
