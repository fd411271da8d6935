"""The audit trail: every step of users and changes leaves an audit row and an event, read
by auditors only."""

from __future__ import annotations

import asyncpg
import httpx

from tests.conftest import BankDriver
from tests.customers.helpers import customer_token
from tests.ops.conftest import Team, bearer, post, propose


async def test_the_audit_trail_of_a_change_is_complete(
    client: httpx.AsyncClient, team: Team, db: asyncpg.Connection
) -> None:
    change = (
        await propose(
            client,
            team.maker,
            kind="credit_policy",
            target="policy",
            body={"exposure_max_minor": 80_000_000},
        )
    ).json()
    refused = await post(client, f"/v1/ops/changes/{change['id']}/approve", None, team.maker2)
    assert refused.status_code == 403  # refused steps change nothing, so leave no row
    approved = await post(client, f"/v1/ops/changes/{change['id']}/approve", None, team.checker)
    assert approved.status_code == 200, approved.text

    trail = await client.get(
        f"/v1/ops/audit?subject=ops_change:{change['id']}", headers=team.auditor
    )
    assert trail.status_code == 200
    steps = [(e["action"], e["actor"]) for e in reversed(trail.json()["items"])]
    assert steps == [("ops_change.proposed", "mina"), ("ops_change.approved", "jun")]
    proposed = trail.json()["items"][-1]["detail"]
    assert proposed["diff"] == {"exposure_max_minor": {"from": 100_000_000, "to": 80_000_000}}

    history = (await client.get("/v1/ops/audit?subject=credit_policy", headers=team.auditor)).json()
    [added] = history["items"]
    assert added["action"] == "catalog.version_added" and added["actor"] == "jun"
    assert added["detail"]["applied_version"] == 2 and added["detail"]["change_id"] == change["id"]

    events = await db.fetch(
        "SELECT type, payload FROM events WHERE aggregate_type = 'ops_change' "
        "AND aggregate_id = $1 ORDER BY id",
        change["id"],
    )
    assert [e["type"] for e in events] == ["ops.change_proposed", "ops.change_approved"]
    assert events[1]["payload"]["applied_version"] == 2
    # Every user the team fixture created: an audit row and an event each.
    created = await db.fetchval("SELECT count(*) FROM events WHERE type = 'ops.user_created'")
    assert created == len(team.ids)
    users = await db.fetch("SELECT actor FROM audit_log WHERE action = 'ops_user.created'")
    assert {u["actor"] for u in users} == {"bootstrap:ops-token"} and len(users) == len(team.ids)


async def test_the_audit_log_pages_newest_first(client: httpx.AsyncClient, team: Team) -> None:
    seen: list[int] = []
    cursor = None
    while True:
        query = "?limit=2" + (f"&cursor={cursor}" if cursor else "")
        page = (await client.get(f"/v1/ops/audit{query}", headers=team.auditor)).json()
        seen += [entry["seq"] for entry in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == len(team.ids) and seen == sorted(seen, reverse=True)


async def test_a_customer_token_is_no_ops_token(
    client: httpx.AsyncClient, bank: BankDriver, team: Team
) -> None:
    customer = await bank.customer()
    token = await customer_token(client, customer["id"])
    for path in ("/v1/ops/audit", "/v1/ops/changes", "/v1/ops/users"):
        response = await client.get(path, headers=bearer(token))
        assert response.status_code == 403 and response.json()["code"] == "forbidden", path
