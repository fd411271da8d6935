"""POST /v1/customers (ops only, validated, idempotent) and GET /v1/customers/{id}."""

from __future__ import annotations

import uuid
from datetime import date, timedelta

import asyncpg
import httpx

from tests.conftest import OPS_TOKEN, BankDriver
from tests.customers.helpers import bearer, customer_token

VALID = {"name": "Kim Minji", "birth_date": "1994-03-15", "phone": "+82 10-1234-5678"}


def key() -> dict[str, str]:
    return {"Idempotency-Key": uuid.uuid4().hex}


async def test_ops_creates_a_customer(client: httpx.AsyncClient, db: asyncpg.Connection) -> None:
    response = await client.post("/v1/customers", json=VALID, headers=key())
    assert response.status_code == 201, response.text
    body = response.json()
    assert set(body) == {"id", "name", "status", "created_at"}
    assert body["name"] == "Kim Minji"
    assert body["status"] == "active"
    row = await db.fetchrow("SELECT * FROM customers WHERE id = $1", uuid.UUID(body["id"]))
    assert row is not None
    assert row["birth_date"] == date(1994, 3, 15)
    assert row["phone"] == "+82 10-1234-5678"
    fetched = await client.get(f"/v1/customers/{body['id']}")
    assert fetched.status_code == 200
    assert fetched.json() == body


async def test_names_in_any_script(client: httpx.AsyncClient) -> None:
    for name in ("김민지", "Zoë O'Brien-Søren", "محمد", "李 小龍", "Ada 👩‍💻"):
        response = await client.post("/v1/customers", json={**VALID, "name": name}, headers=key())
        assert response.status_code == 201, (name, response.text)
        assert response.json()["name"] == name


async def test_name_is_trimmed(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/v1/customers", json={**VALID, "name": "  Lee Jieun  "}, headers=key()
    )
    assert response.status_code == 201, response.text
    assert response.json()["name"] == "Lee Jieun"


async def test_creating_customers_needs_a_token(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/v1/customers", json=VALID, headers={**key(), "Authorization": ""}
    )
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "unauthorized"
    assert response.headers["www-authenticate"].startswith("Bearer")


async def test_a_wrong_token_is_unauthorized(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    for authorization in ("Bearer wrong-token", "Basic dGVzdDp0ZXN0", "Bearer ", OPS_TOKEN):
        response = await client.post(
            "/v1/customers", json=VALID, headers={**key(), "Authorization": authorization}
        )
        assert response.status_code == 401, authorization
        assert response.json()["code"] == "unauthorized"
    assert await db.fetchval("SELECT count(*) FROM customers") == 0


async def test_the_scheme_is_case_insensitive(client: httpx.AsyncClient) -> None:
    for authorization in (f"bearer {OPS_TOKEN}", f"BEARER {OPS_TOKEN}", f"Bearer  {OPS_TOKEN} "):
        response = await client.post(
            "/v1/customers", json=VALID, headers={**key(), "Authorization": authorization}
        )
        assert response.status_code == 201, authorization


async def test_a_customer_token_may_not_create_customers(
    bank: BankDriver, db: asyncpg.Connection
) -> None:
    customer = await bank.customer()
    token = await customer_token(bank.client, customer["id"])
    response = await bank.client.post(
        "/v1/customers", json=VALID, headers={**key(), **bearer(token)}
    )
    assert response.status_code == 403
    assert response.json()["code"] == "forbidden"
    assert await db.fetchval("SELECT count(*) FROM customers") == 1


INVALID_FIELDS: list[tuple[str, object]] = [
    ("name", ""),
    ("name", "   "),
    ("name", "x" * 201),
    ("name", 42),
    ("name", None),
    ("name", "Kim\x00Minji"),
    ("name", "Kim\nMinji"),
    ("name", "Kim\x85Minji"),
    ("name", "Kim\u2028Minji"),
    ("name", "Kim \u202eijniM"),
    ("birth_date", "1994-13-01"),
    ("birth_date", "yesterday"),
    ("birth_date", (date.today() + timedelta(days=1)).isoformat()),
    ("birth_date", "1800-01-01"),
    ("birth_date", 10**30),
    ("birth_date", True),
    ("birth_date", 0),
    ("phone", "call me"),
    ("phone", "123"),
    ("phone", "+82 10-1234-5678" + "9" * 40),
    ("phone", 821012345678),
]


async def test_invalid_customers_are_refused(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    wrong = []
    for field, value in INVALID_FIELDS:
        response = await client.post("/v1/customers", json={**VALID, field: value}, headers=key())
        problem = response.json()
        if (
            response.status_code != 422
            or problem.get("code") != "validation_error"
            or field not in problem.get("detail", "")
        ):
            wrong.append((field, value, response.status_code, response.text[:200]))
    assert wrong == []
    assert await db.fetchval("SELECT count(*) FROM customers") == 0


async def test_missing_fields_are_refused(client: httpx.AsyncClient) -> None:
    for missing in ("name", "birth_date", "phone"):
        body = {k: v for k, v in VALID.items() if k != missing}
        response = await client.post("/v1/customers", json=body, headers=key())
        assert response.status_code == 422
        assert response.json()["code"] == "validation_error"
        assert missing in response.json()["detail"]


async def test_unknown_fields_are_refused(client: httpx.AsyncClient) -> None:
    response = await client.post("/v1/customers", json={**VALID, "status": "vip"}, headers=key())
    assert response.status_code == 422
    assert response.json()["code"] == "validation_error"


async def test_a_customer_reads_only_themselves(bank: BankDriver) -> None:
    alice = await bank.customer("Alice")
    bob = await bank.customer("Bob")
    token = await customer_token(bank.client, alice["id"])
    own = await bank.client.get(f"/v1/customers/{alice['id']}", headers=bearer(token))
    assert own.status_code == 200
    assert own.json() == alice
    other = await bank.client.get(f"/v1/customers/{bob['id']}", headers=bearer(token))
    assert other.status_code == 404
    assert other.json()["code"] == "customer_not_found"
    missing = await bank.client.get(f"/v1/customers/{uuid.uuid4()}", headers=bearer(token))
    assert missing.status_code == 404
    assert missing.json() == other.json()


async def test_unknown_customer_is_404(client: httpx.AsyncClient) -> None:
    response = await client.get(f"/v1/customers/{uuid.uuid4()}")
    assert response.status_code == 404
    assert response.json()["code"] == "customer_not_found"


async def test_reading_a_customer_needs_a_token(bank: BankDriver) -> None:
    customer = await bank.customer()
    response = await bank.client.get(
        f"/v1/customers/{customer['id']}", headers={"Authorization": ""}
    )
    assert response.status_code == 401
