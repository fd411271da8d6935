"""Ops users: created by an admin with roles, tokens shown once and kept as digests, roles
checked on every route, a disabled user locked out."""

from __future__ import annotations

import hashlib

import asyncpg
import httpx

from tests.ops.conftest import Team, bearer, create_user, post, propose

GRID = {"rate_grid": [{"score_min": 700, "rate_bps": 500}, {"score_min": 600, "rate_bps": 1200}]}


async def test_admin_creates_a_user_whose_token_is_kept_only_as_a_digest(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    user = await create_user(client, "mina", ["lending_checker", "lending_maker"])
    assert user["roles"] == ["lending_maker", "lending_checker"]
    assert user["status"] == "active" and user["created_by"] == "bootstrap:ops-token"
    token = user["token"]
    digest = await db.fetchval("SELECT token_digest FROM ops_users WHERE name = 'mina'")
    assert bytes(digest) == hashlib.sha256(token.encode()).digest()
    # Nowhere else: not in an idempotency answer, an event or the audit log.
    for table in ("idempotency_keys", "events", "audit_log"):
        leaked = await db.fetchval(
            f"SELECT count(*) FROM {table} t WHERE t::text LIKE $1", f"%{token}%"
        )
        assert leaked == 0, table

    listed = (await client.get("/v1/ops/users")).json()
    assert [u["name"] for u in listed["items"]] == ["mina"]
    assert "token" not in listed["items"][0]


async def test_names_are_unique_and_roles_known(client: httpx.AsyncClient) -> None:
    await create_user(client, "mina", ["auditor"])
    again = await client.post("/v1/ops/users", json={"name": "mina", "roles": ["auditor"]})
    assert again.status_code == 409 and again.json()["code"] == "ops_user_name_taken"
    bad_role = await client.post("/v1/ops/users", json={"name": "x", "roles": ["root"]})
    assert bad_role.status_code == 422
    # ':' is kept for the bootstrap token's actor name.
    bad_name = await client.post(
        "/v1/ops/users", json={"name": "bootstrap:ops-token", "roles": ["admin"]}
    )
    assert bad_name.status_code == 422


async def test_an_admin_user_manages_users_but_cannot_propose(
    client: httpx.AsyncClient, catalog: None
) -> None:
    admin = bearer((await create_user(client, "root", ["admin"]))["token"])
    made = await client.post(
        "/v1/ops/users", json={"name": "ara", "roles": ["auditor"]}, headers=admin
    )
    assert made.status_code == 201 and made.json()["created_by"] == "root"
    refused = await propose(client, admin, kind="loan_product", target="credit_loan", body=GRID)
    assert refused.status_code == 403 and refused.json()["code"] == "forbidden"


async def test_the_bootstrap_token_can_neither_propose_nor_approve(
    client: httpx.AsyncClient, team: Team
) -> None:
    # The client holds the bootstrap token.
    refused = await propose(client, {}, kind="loan_product", target="credit_loan", body=GRID)
    assert refused.status_code == 403
    change = await propose(client, team.maker, kind="loan_product", target="credit_loan", body=GRID)
    assert change.status_code == 201, change.text
    approve = await post(client, f"/v1/ops/changes/{change.json()['id']}/approve", None, {})
    assert approve.status_code == 403
    assert (await client.get("/v1/ops/changes")).status_code == 403
    assert (await client.get("/v1/ops/audit")).status_code == 403


async def test_each_route_needs_its_role(client: httpx.AsyncClient, team: Team) -> None:
    # A checker cannot propose, a maker cannot approve, only an auditor reads the audit log,
    # only an admin (or auditor) lists users.
    assert (
        await propose(client, team.checker, kind="loan_product", target="credit_loan", body=GRID)
    ).status_code == 403
    change = await propose(client, team.maker, kind="loan_product", target="credit_loan", body=GRID)
    change_id = change.json()["id"]
    assert (
        await post(client, f"/v1/ops/changes/{change_id}/approve", None, team.maker2)
    ).status_code == 403
    assert (
        await post(client, f"/v1/ops/changes/{change_id}/reject", {"comment": "no"}, team.auditor)
    ).status_code == 403
    assert (await client.get("/v1/ops/audit", headers=team.checker)).status_code == 403
    assert (await client.get("/v1/ops/audit", headers=team.auditor)).status_code == 200
    assert (await client.get("/v1/ops/users", headers=team.maker)).status_code == 403
    assert (await client.get("/v1/ops/users", headers=team.auditor)).status_code == 200
    created = await client.post(
        "/v1/ops/users", json={"name": "eve", "roles": ["admin"]}, headers=team.both
    )
    assert created.status_code == 403
    for reader in (team.maker, team.checker, team.auditor):
        assert (await client.get(f"/v1/ops/changes/{change_id}", headers=reader)).status_code == 200


async def test_unknown_tokens_are_refused(client: httpx.AsyncClient, catalog: None) -> None:
    for headers in ({"Authorization": "Bearer not-a-token"}, {"Authorization": ""}):
        response = await client.get("/v1/ops/changes", headers=headers)
        assert response.status_code == 401 and response.json()["code"] == "unauthorized"


async def test_a_disabled_user_is_locked_out_at_once(client: httpx.AsyncClient, team: Team) -> None:
    assert (await client.get("/v1/ops/changes", headers=team.maker)).status_code == 200
    disabled = await client.post(f"/v1/ops/users/{team.ids['mina']}/disable")
    assert disabled.status_code == 200 and disabled.json()["status"] == "disabled"
    again = await client.post(f"/v1/ops/users/{team.ids['mina']}/disable")
    assert again.json()["disabled_at"] == disabled.json()["disabled_at"]
    response = await client.get("/v1/ops/changes", headers=team.maker)
    assert response.status_code == 401 and response.json()["code"] == "unauthorized"
    refused = await propose(
        client, team.maker, kind="loan_product", target="credit_loan", body=GRID
    )
    assert refused.status_code == 401
    # Only admins disable; an unknown id is a 404.
    assert (
        await client.post(f"/v1/ops/users/{team.ids['jun']}/disable", headers=team.auditor)
    ).status_code == 403
    missing = await client.post("/v1/ops/users/00000000-0000-0000-0000-000000000000/disable")
    assert missing.status_code == 404 and missing.json()["code"] == "ops_user_not_found"
