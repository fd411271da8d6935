"""POST /v1/accounts and GET /v1/accounts/{id}: opening accounts, owners, balances."""

from __future__ import annotations

import re
import uuid

import asyncpg
import httpx

from neobank.deposits.numbers import account_number, is_valid_account_number, luhn_check_digit
from tests.conftest import BankDriver
from tests.customers.helpers import bearer, customer_token

ACCOUNT_FIELDS = {
    "id",
    "number",
    "customer_id",
    "product",
    "currency",
    "status",
    "balance",
    "available_balance",
    "created_at",
}


def luhn_valid(number: str) -> bool:
    """An independent Luhn check: the whole number, doubling every second digit from the right."""
    digits = [int(c) for c in number if c.isdigit()]
    total = 0
    for position, digit in enumerate(reversed(digits)):
        if position % 2 == 1:
            digit = digit * 2 - 9 if digit > 4 else digit * 2
        total += digit
    return total % 10 == 0


async def open_account(client: httpx.AsyncClient, body: object, **headers: str) -> httpx.Response:
    return await client.post(
        "/v1/accounts", json=body, headers={"Idempotency-Key": uuid.uuid4().hex, **headers}
    )


async def test_ops_opens_an_account(bank: BankDriver, db: asyncpg.Connection) -> None:
    customer = await bank.customer()
    response = await open_account(
        bank.client, {"customer_id": customer["id"], "product": "demand_deposit"}
    )
    assert response.status_code == 201, response.text
    account = response.json()
    assert set(account) == ACCOUNT_FIELDS
    assert account["customer_id"] == customer["id"]
    assert account["product"] == "demand_deposit"
    assert account["currency"] == "KRW"
    assert account["status"] == "active"
    assert account["balance"] == account["available_balance"] == 0
    assert re.fullmatch(r"3020-\d{8}-\d", account["number"])
    assert luhn_valid(account["number"])
    assert is_valid_account_number(account["number"])
    ledger = await db.fetchrow(
        "SELECT currency, debits_posted, credits_posted FROM ledger_accounts WHERE id = $1",
        uuid.UUID(account["id"]),
    )
    assert ledger is not None
    assert tuple(ledger) == ("KRW", 0, 0)
    fetched = await bank.client.get(f"/v1/accounts/{account['id']}")
    assert fetched.status_code == 200
    assert fetched.json() == account


async def test_account_numbers_are_unique_and_check_out(bank: BankDriver) -> None:
    customer = await bank.customer()
    numbers = [(await bank.account(customer["id"]))["number"] for _ in range(5)]
    assert len(set(numbers)) == 5
    assert all(luhn_valid(str(n)) for n in numbers)


def test_luhn_check_digits() -> None:
    assert luhn_check_digit("7992739871") == 3  # the textbook example
    for sequence in (0, 1, 9, 42, 12345678, 99999999):
        number = account_number(sequence)
        assert luhn_valid(number), number
        assert is_valid_account_number(number)
    number = account_number(12345678)
    body, check = number[:-1], int(number[-1])
    for wrong in range(10):
        if wrong != check:
            assert not is_valid_account_number(f"{body}{wrong}")
    digits = number.replace("-", "")
    for i in range(len(digits) - 1):
        swapped = digits[:i] + digits[i + 1] + digits[i] + digits[i + 2 :]
        if swapped != digits and {digits[i], digits[i + 1]} != {"0", "9"}:
            assert not is_valid_account_number(swapped), swapped
    for junk in ("", "1", "abc", "3020-1234567a-1"):
        assert not is_valid_account_number(junk)


async def test_a_customer_opens_their_own_account(bank: BankDriver, db: asyncpg.Connection) -> None:
    alice = await bank.customer("Alice")
    bob = await bank.customer("Bob")
    token = await customer_token(bank.client, alice["id"])
    own = await open_account(
        bank.client, {"customer_id": alice["id"], "product": "demand_deposit"}, **bearer(token)
    )
    assert own.status_code == 201, own.text
    assert own.json()["customer_id"] == alice["id"]
    for customer_id in (bob["id"], str(uuid.uuid4())):
        other = await open_account(
            bank.client, {"customer_id": customer_id, "product": "demand_deposit"}, **bearer(token)
        )
        assert other.status_code == 404
        assert other.json()["code"] == "customer_not_found"
    assert await db.fetchval("SELECT count(*) FROM accounts") == 1


async def test_unknown_product_and_customer(bank: BankDriver, db: asyncpg.Connection) -> None:
    customer = await bank.customer()
    for product in ("savings", "DEMAND_DEPOSIT", "demand_deposit "):
        response = await open_account(
            bank.client, {"customer_id": customer["id"], "product": product}
        )
        assert response.status_code == 422
        assert response.json()["code"] == "product_not_found"
    response = await open_account(
        bank.client, {"customer_id": str(uuid.uuid4()), "product": "demand_deposit"}
    )
    assert response.status_code == 404
    assert response.json()["code"] == "customer_not_found"
    assert await db.fetchval("SELECT count(*) FROM accounts") == 0
    assert await db.fetchval("SELECT count(*) FROM ledger_accounts WHERE code = 2000") == 0


async def test_malformed_account_requests(bank: BankDriver, db: asyncpg.Connection) -> None:
    customer = await bank.customer()
    bodies: list[object] = [
        {"customer_id": "not-a-uuid", "product": "demand_deposit"},
        {"customer_id": 7, "product": "demand_deposit"},
        {"customer_id": customer["id"]},
        {"product": "demand_deposit"},
        {"customer_id": customer["id"], "product": ""},
        {"customer_id": customer["id"], "product": "x" * 33},
        {"customer_id": customer["id"], "product": 1},
        {"customer_id": customer["id"], "product": "demand_deposit", "currency": "USD"},
        {"customer_id": customer["id"], "product": "demand_deposit", "balance": 10**6},
        ["demand_deposit"],
        "demand_deposit",
        None,
    ]
    for body in bodies:
        response = await open_account(bank.client, body)
        assert response.status_code == 422, (body, response.text)
        assert response.json()["code"] in ("validation_error", "malformed_json"), body
    assert await db.fetchval("SELECT count(*) FROM accounts") == 0


async def test_balances_follow_the_money(bank: BankDriver, db: asyncpg.Connection) -> None:
    a = await bank.account(funded=100_000)
    b = await bank.account()
    assert (await bank.transfer(a["id"], b["id"], 25_000)).status_code == 201
    first = (await bank.client.get(f"/v1/accounts/{a['id']}")).json()
    second = (await bank.client.get(f"/v1/accounts/{b['id']}")).json()
    assert (first["balance"], first["available_balance"]) == (75_000, 75_000)
    assert (second["balance"], second["available_balance"]) == (25_000, 25_000)
    # A hold (a pending debit) lowers the available balance, not the balance.
    hold = await bank.post(
        "/v1/holds",
        {"account_id": a["id"], "amount": 5000, "currency": "KRW", "timeout_seconds": 3600},
    )
    assert hold.status_code == 201, hold.text
    held = (await bank.client.get(f"/v1/accounts/{a['id']}")).json()
    assert (held["balance"], held["available_balance"]) == (75_000, 70_000)


async def test_accounts_are_private(bank: BankDriver) -> None:
    alice = await bank.customer("Alice")
    mine = await bank.account(alice["id"])
    theirs = await bank.account()
    token = await customer_token(bank.client, alice["id"])
    own = await bank.client.get(f"/v1/accounts/{mine['id']}", headers=bearer(token))
    assert own.status_code == 200
    other = await bank.client.get(f"/v1/accounts/{theirs['id']}", headers=bearer(token))
    missing = await bank.client.get(f"/v1/accounts/{uuid.uuid4()}", headers=bearer(token))
    assert other.status_code == missing.status_code == 404
    assert other.json()["code"] == missing.json()["code"] == "account_not_found"
    anonymous = await bank.client.get(f"/v1/accounts/{mine['id']}", headers={"Authorization": ""})
    assert anonymous.status_code == 401
    malformed = await bank.client.get("/v1/accounts/not-a-uuid")
    assert malformed.status_code == 422
    assert malformed.json()["code"] == "validation_error"
