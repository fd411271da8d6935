"""GET /v1/accounts/{id}/transactions: history newest first, and its cursor pagination."""

from __future__ import annotations

import base64
import uuid

import httpx

from tests.conftest import BankDriver
from tests.customers.helpers import bearer, customer_token


def cursor_of(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).rstrip(b"=").decode()


async def history(
    client: httpx.AsyncClient, account_id: object, **params: object
) -> httpx.Response:
    return await client.get(f"/v1/accounts/{account_id}/transactions", params=params)


async def test_history_is_newest_first_with_balances(bank: BankDriver) -> None:
    a = await bank.account()
    b = await bank.account()
    deposit = await bank.deposit(a["id"], 50_000)
    sent = (await bank.transfer(a["id"], b["id"], 20_000)).json()
    received = (await bank.transfer(b["id"], a["id"], 5_000)).json()
    response = await history(bank.client, a["id"])
    assert response.status_code == 200
    page = response.json()
    assert page["next_cursor"] is None
    items = page["items"]
    assert [i["transfer_id"] for i in items] == [received["id"], sent["id"], deposit["id"]]
    assert [i["direction"] for i in items] == ["credit", "debit", "credit"]
    assert [i["amount"] for i in items] == [5_000, 20_000, 50_000]
    assert [i["balance_after"] for i in items] == [35_000, 30_000, 50_000]
    assert [i["counterparty_account_id"] for i in items] == [b["id"], b["id"], None]
    assert items[0]["kind"] == "internal"
    assert items[2]["kind"] == "deposit"
    assert set(items[0]) == {
        "transfer_id",
        "direction",
        "amount",
        "balance_after",
        "kind",
        "memo",
        "counterparty_account_id",
        "created_at",
    }
    assert items[0]["created_at"] >= items[1]["created_at"] >= items[2]["created_at"]
    assert items[0]["balance_after"] == await bank.balance(a["id"])


async def test_memo_shows_in_history(bank: BankDriver) -> None:
    a = await bank.account(funded=10_000)
    b = await bank.account()
    body = {
        "from_account_id": a["id"],
        "to_account_id": b["id"],
        "amount": 1_000,
        "currency": "KRW",
        "memo": "rent 🏠",
    }
    assert (await bank.post("/v1/transfers", body)).status_code == 201
    for account in (a, b):
        items = (await history(bank.client, account["id"])).json()["items"]
        assert items[0]["memo"] == "rent 🏠"


async def test_an_empty_history(bank: BankDriver) -> None:
    account = await bank.account()
    response = await history(bank.client, account["id"], limit=2)
    assert response.json() == {"items": [], "next_cursor": None}


async def _walk(client: httpx.AsyncClient, account_id: object, limit: int) -> list[list[str]]:
    pages: list[list[str]] = []
    cursor: str | None = None
    while True:
        params: dict[str, object] = {"limit": limit}
        if cursor is not None:
            params["cursor"] = cursor
        response = await history(client, account_id, **params)
        assert response.status_code == 200, response.text
        page = response.json()
        assert len(page["items"]) <= limit
        pages.append([i["transfer_id"] for i in page["items"]])
        cursor = page["next_cursor"]
        if cursor is None:
            return pages
        assert len(pages) < 20, "the cursor never ends"


async def test_pages_cover_the_history_without_gaps(bank: BankDriver) -> None:
    account = await bank.account()
    other = await bank.account()
    for amount in range(1, 6):
        await bank.deposit(account["id"], amount * 1_000)
    full = [i["transfer_id"] for i in (await history(bank.client, account["id"])).json()["items"]]
    assert len(full) == 5
    pages = await _walk(bank.client, account["id"], limit=2)
    assert [len(p) for p in pages] == [2, 2, 1]
    assert [t for p in pages for t in p] == full
    # An exact multiple of the limit ends without an empty page.
    await bank.transfer(account["id"], other["id"], 100)
    pages = await _walk(bank.client, account["id"], limit=2)
    assert [len(p) for p in pages] == [2, 2, 2]
    assert len({t for p in pages for t in p}) == 6


async def test_new_entries_do_not_shift_pages(bank: BankDriver) -> None:
    account = await bank.account()
    for amount in (1, 2, 3):
        await bank.deposit(account["id"], amount)
    first = (await history(bank.client, account["id"], limit=2)).json()
    await bank.deposit(account["id"], 4)
    second = (
        await history(bank.client, account["id"], limit=2, cursor=first["next_cursor"])
    ).json()
    assert [i["amount"] for i in first["items"]] == [3, 2]
    assert [i["amount"] for i in second["items"]] == [1]
    assert second["next_cursor"] is None


async def test_bad_cursors(bank: BankDriver) -> None:
    account = await bank.account(funded=1_000)
    cursors = [
        "garbage!",
        "",
        "x",
        cursor_of("c1:"),
        cursor_of("c1:abc"),
        cursor_of("c1:-1"),
        cursor_of("c1:1.5"),
        cursor_of("c2:1"),
        cursor_of("c1:²"),
        cursor_of("c1:١٢"),
        cursor_of("c1:" + "9" * 30),
        cursor_of("c1: 1"),
        base64.urlsafe_b64encode(b"c1:\xff\xfe").decode(),
    ]
    wrong = []
    for cursor in cursors:
        response = await history(bank.client, account["id"], cursor=cursor)
        if response.status_code != 422 or response.json().get("code") != "invalid_cursor":
            wrong.append((cursor, response.status_code, response.text[:120]))
    assert wrong == []
    too_long = await history(bank.client, account["id"], cursor="A" * 1000)
    assert too_long.status_code == 422


async def test_limit_bounds(bank: BankDriver) -> None:
    account = await bank.account(funded=1_000)
    for limit in ("0", "-1", "201", "abc", "1.5", str(10**30)):
        response = await history(bank.client, account["id"], limit=limit)
        assert response.status_code == 422, limit
        assert response.json()["code"] == "validation_error"
    for limit in ("1", "200"):
        assert (await history(bank.client, account["id"], limit=limit)).status_code == 200


async def test_history_is_private(bank: BankDriver) -> None:
    alice = await bank.customer("Alice")
    mine = await bank.account(alice["id"], funded=1_000)
    theirs = await bank.account(funded=1_000)
    token = await customer_token(bank.client, alice["id"])
    own = await bank.client.get(f"/v1/accounts/{mine['id']}/transactions", headers=bearer(token))
    assert own.status_code == 200
    assert len(own.json()["items"]) == 1
    for account_id in (theirs["id"], str(uuid.uuid4())):
        response = await bank.client.get(
            f"/v1/accounts/{account_id}/transactions", headers=bearer(token)
        )
        assert response.status_code == 404
        assert response.json()["code"] == "account_not_found"


async def test_a_fee_shows_as_its_own_entry(bank: BankDriver) -> None:
    rule = await bank.post("/v1/fees/rules", {"kind": "internal", "amount": 500, "currency": "KRW"})
    assert rule.status_code == 200, rule.text
    a = await bank.account(funded=10_000)
    b = await bank.account()
    sent = await bank.transfer(a["id"], b["id"], 1_000)
    assert sent.status_code == 201, sent.text
    items = (await history(bank.client, a["id"])).json()["items"]
    assert [(i["kind"], i["direction"], i["amount"]) for i in items] == [
        ("fee", "debit", 500),
        ("internal", "debit", 1_000),
        ("deposit", "credit", 10_000),
    ]
    assert [i["balance_after"] for i in items] == [8_500, 9_000, 10_000]
    assert sent.json()["id"] in items[0]["memo"]
    assert items[0]["counterparty_account_id"] is None
    assert items[1]["transfer_id"] == sent.json()["id"]
    received = (await history(bank.client, b["id"])).json()["items"]
    assert [(i["kind"], i["amount"]) for i in received] == [("internal", 1_000)]
