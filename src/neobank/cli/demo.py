"""Demo data, seeded through the bank's own HTTP API (in-process) with fixed idempotency
keys: running it twice replays the same answers and creates nothing twice."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from neobank.config import ensure_admin_token, load_settings

__all__ = ["seed_demo"]

DEMO_CUSTOMERS = (
    ("Kim Minji", "1990-03-14", "+82 10-1234-5678", 3_000_000),
    ("Lee Junho", "1985-11-02", "+82 10-2345-6789", 1_200_000),
    ("Park Seoyeon", "1998-07-21", "+82 10-3456-7890", 500_000),
)
FEE_RULES = (("internal", 500), ("interbank", 1_000), ("atm_withdrawal", 1_300), ("partner", 800))
LAUNCH_PROMOTION_DAYS = 90


async def seed_demo(database_url: str, console: Console) -> None:
    from neobank.api.app import create_app

    os.environ["NEOBANK_DATABASE_URL"] = database_url
    settings = load_settings()
    token, _ = ensure_admin_token(settings)
    app = create_app(settings, run_workers=False)
    headers = {"Authorization": f"Bearer {token}"}
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://demo", headers=headers
        ) as client:
            accounts = await _seed(client)
    table = Table(title="Demo accounts")
    for column in ("customer", "account id", "number", "balance (KRW)"):
        table.add_column(column, overflow="fold")
    for name, account in accounts:
        table.add_row(name, account["id"], account["number"], f"{account['balance']:,}")
    console.print(table)


async def _post(
    client: httpx.AsyncClient, path: str, key: str, body: dict[str, Any]
) -> dict[str, Any]:
    response = await client.post(path, json=body, headers={"Idempotency-Key": f"demo:{key}"})
    if response.status_code >= 400:
        raise RuntimeError(f"demo seeding failed at {path}: {response.text}")
    result: dict[str, Any] = response.json()
    return result


async def _seed(client: httpx.AsyncClient) -> list[tuple[str, dict[str, Any]]]:
    now = datetime.now(UTC).replace(microsecond=0)
    today = now.replace(hour=0, minute=0, second=0)
    steps = len(FEE_RULES) + 1 + 3 * len(DEMO_CUSTOMERS) + 2
    accounts: list[tuple[str, dict[str, Any]]] = []
    with Progress() as progress:
        task = progress.add_task("Seeding demo data", total=steps)
        for kind, amount in FEE_RULES:
            await _post(
                client,
                "/v1/fees/rules",
                f"fee:{kind}",
                {"kind": kind, "amount": amount, "currency": "KRW"},
            )
            progress.advance(task)
        # Stable key per day: re-seeding the same day replays instead of stacking promotions.
        await _post(
            client,
            "/v1/fees/promotions",
            f"launch-promotion:{now.date()}",
            {
                "name": "Launch: every fee waived",
                "kinds": ["internal", "interbank", "atm_withdrawal", "partner"],
                "waive_percent": 100,
                "starts_at": today.isoformat(),
                "ends_at": (today + timedelta(days=LAUNCH_PROMOTION_DAYS)).isoformat(),
            },
        )
        progress.advance(task)
        for index, (name, birth_date, phone, opening) in enumerate(DEMO_CUSTOMERS):
            customer = await _post(
                client,
                "/v1/customers",
                f"customer:{index}",
                {"name": name, "birth_date": birth_date, "phone": phone},
            )
            account = await _post(
                client,
                "/v1/accounts",
                f"account:{index}",
                {"customer_id": customer["id"], "product": "demand_deposit"},
            )
            await _post(
                client,
                "/v1/deposits",
                f"deposit:{index}",
                {
                    "account_id": account["id"],
                    "amount": opening,
                    "currency": "KRW",
                    "memo": "Opening deposit",
                },
            )
            accounts.append((name, account))
            progress.advance(task, 3)
        first, second = accounts[0][1], accounts[1][1]
        await _post(
            client,
            "/v1/transfers",
            "transfer:0",
            {
                "from_account_id": first["id"],
                "to_account_id": second["id"],
                "amount": 25_000,
                "currency": "KRW",
                "memo": "Dinner",
            },
        )
        await _post(
            client,
            "/v1/transfers",
            "transfer:1",
            {
                "from_account_id": second["id"],
                "to_account_id": accounts[2][1]["id"],
                "amount": 10_000,
                "currency": "KRW",
                "memo": "Concert ticket",
            },
        )
        progress.advance(task, 2)
        fresh = []
        for name, account in accounts:
            response = await client.get(f"/v1/accounts/{account['id']}")
            fresh.append((name, response.json()))
    return fresh
