"""The batch endpoint: up to 8190 items, each standing alone and idempotent by its own id."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

import asyncpg

from neobank.idempotency import Claim, InFlight
from neobank.ledger.domain import ItemOutcome, ResultCode
from neobank.ledger.engine import Answer, Submission
from neobank.payments.orders import COPY_PAYMENTS_MIN
from neobank.payments.schemas import BatchIn
from neobank.payments.service import PaymentDeps, submit_batch
from tests.conftest import BankDriver
from tests.payments.helpers import KRW, count, customer_client, events, new_id, set_fee


def item(source: object, target: object, amount: int, **extra: Any) -> dict[str, Any]:
    body = {"id": new_id(), "from_account_id": source, "to_account_id": target}
    return {**body, "amount": amount, "currency": KRW, **extra}


async def batch(bank: BankDriver, items: list[dict[str, Any]], key: str | None = None) -> Any:
    response = await bank.post("/v1/transfers/batch", {"transfers": items}, key=key)
    assert response.status_code == 200, response.text
    return response


async def test_each_item_stands_alone_and_results_keep_input_order(
    bank: BankDriver, db: asyncpg.Connection
) -> None:
    await set_fee(bank, 100)
    a = await bank.account(funded=10_000)
    b = await bank.account()
    items = [
        item(a["id"], b["id"], 5_000, memo="first"),
        item(a["id"], b["id"], 4_901),  # 4 900 left: fits without its fee, not with it
        item(a["id"], a["id"], 1),
        item(a["id"], new_id(), 1),
        item(b["id"], a["id"], 2_000, currency="USD"),
        item(b["id"], a["id"], 1_000),
        item(a["id"], b["id"], 4_800),
    ]
    results = (await batch(bank, items)).json()["results"]
    assert [r["id"] for r in results] == [i["id"] for i in items]
    assert [(r["status"], r.get("code")) for r in results] == [
        ("posted", None),
        ("failed", "insufficient_funds"),
        ("failed", "same_account"),
        ("failed", "account_not_found"),
        ("failed", "currency_mismatch"),
        ("posted", None),
        ("posted", None),
    ]
    # a: 10 000 - 5 100 + 1 000 - 4 900 = 1 000; b: 5 000 - 1 100 + 4 800 = 8 700
    assert await bank.balance(a["id"]) == 1_000
    assert await bank.balance(b["id"]) == 8_700
    # One event for the batch: its posted items and the ledger's refusals, as rows.
    assert [e for e in await events(db, "transfer.posted") if e["kind"] == "internal"] == []
    (event,) = await events(db, "transfer.batch_applied")
    posted = [dict(zip(event["columns"], row, strict=True)) for row in event["posted"]]
    assert [p["id"] for p in posted] == [items[i]["id"] for i in (0, 5, 6)]
    assert posted[0] | {"id": None} == {
        "id": None,
        "from_account_id": a["id"],
        "to_account_id": b["id"],
        "amount": 5_000,
        "currency": KRW,
        "memo": "first",
        "fee_amount": 100,
        "fee_waived_amount": 0,
        "fee_gross": 100,
        "promotion_id": None,
    }
    rejected = [dict(zip(event["rejected_columns"], r, strict=True)) for r in event["rejected"]]
    assert [(r["id"], r["code"]) for r in rejected] == [(items[1]["id"], "insufficient_funds")]
    assert await events(db, "transfer.rejected") == []
    fetched = await bank.client.get(f"/v1/transfers/{items[0]['id']}")
    assert (fetched.json()["memo"], fetched.json()["fee"]["amount"]) == ("first", 100)
    assert (await bank.check())["balanced"] is True


async def test_a_big_batch_copies_its_payments(bank: BankDriver, db: asyncpg.Connection) -> None:
    """From COPY_PAYMENTS_MIN payments on, a submission copies its payment rows instead of
    adding them to the batch's statement: the same rows, and only the posted items'."""
    await set_fee(bank, 100)
    a = await bank.account(funded=1_000_000)
    b = await bank.account()
    before = await count(db, "payments")
    items = [item(a["id"], b["id"], 1_000, memo=f"n{n}") for n in range(COPY_PAYMENTS_MIN)]
    items.append(item(a["id"], a["id"], 1))  # refused before the ledger
    items.append(item(a["id"], b["id"], 10_000_000))  # refused by the ledger
    results = (await batch(bank, items)).json()["results"]
    assert [r["status"] for r in results] == ["posted"] * COPY_PAYMENTS_MIN + ["failed"] * 2
    assert await count(db, "payments") == before + COPY_PAYMENTS_MIN
    rows = await db.fetch(
        "SELECT id::text, kind, from_account_id::text, to_account_id::text, amount, currency, "
        "memo, fee_amount, fee_waived_amount, fee_transfer_id IS NOT NULL AS fee_linked "
        "FROM payments WHERE id = ANY($1::uuid[]) ORDER BY memo",
        [i["id"] for i in items],
    )
    expected = [
        (i["id"], "internal", a["id"], b["id"], 1_000, KRW, i["memo"], 100, 0, True)
        for i in items[:COPY_PAYMENTS_MIN]
    ]
    assert sorted(tuple(r) for r in rows) == sorted(expected)
    fetched = (await bank.client.get(f"/v1/transfers/{items[7]['id']}")).json()
    assert (fetched["memo"], fetched["fee"]["amount"]) == ("n7", 100)
    assert await bank.balance(b["id"]) == 1_000 * COPY_PAYMENTS_MIN
    assert (await bank.check())["balanced"] is True


def test_the_flat_dump_of_a_batch_is_its_model_dump() -> None:
    """The request hash of a batch's key is taken of `dump_flat()`: it must stay
    `model_dump()`, or a retry sent before an upgrade would not match after it."""
    body = BatchIn.model_validate(
        {"transfers": [item(new_id(), new_id(), 5, memo="m"), item(new_id(), new_id(), 7)]}
    )
    assert body.dump_flat() == body.model_dump()


async def test_resubmitted_items_exist_and_move_nothing(
    bank: BankDriver, db: asyncpg.Connection
) -> None:
    await set_fee(bank, 100)
    a = await bank.account(funded=100_000)
    b = await bank.account()
    items = [item(a["id"], b["id"], 1_000) for _ in range(3)]
    first = await batch(bank, items, key="batch-1")
    replay = await batch(bank, items, key="batch-1")
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert replay.json() == first.json()
    transfers = await count(db, "transfers")
    # The same items under a new key, after the fee changed: they exist, nothing moves.
    await set_fee(bank, 0)
    again = await batch(bank, [*items, item(a["id"], b["id"], 1_000)], key="batch-2")
    assert [r["status"] for r in again.json()["results"]] == ["exists"] * 3 + ["posted"]
    assert await count(db, "transfers") == transfers + 1
    assert await bank.balance(a["id"]) == 100_000 - 3 * 1_100 - 1_000
    changed = await batch(bank, [{**items[0], "amount": 999}])
    assert changed.json()["results"][0] == {
        "id": items[0]["id"],
        "status": "failed",
        "code": "transfer_id_conflict",
    }


async def test_duplicate_ids_inside_one_request(bank: BankDriver) -> None:
    a = await bank.account(funded=100_000)
    b = await bank.account()
    twice = item(a["id"], b["id"], 1_000)
    clash = {**item(a["id"], b["id"], 1_000), "id": twice["id"], "amount": 2_000}
    results = (await batch(bank, [twice, twice, clash])).json()["results"]
    assert [(r["status"], r.get("code")) for r in results] == [
        ("posted", None),
        ("exists", None),
        ("failed", "transfer_id_conflict"),
    ]
    assert await bank.balance(b["id"]) == 1_000


async def test_batch_size_bounds(bank: BankDriver, db: asyncpg.Connection) -> None:
    a = await bank.account(funded=10_000)
    b = await bank.account()
    empty = await bank.post("/v1/transfers/batch", {"transfers": []})
    assert (empty.status_code, empty.json()["code"]) == (422, "validation_error")
    template = item(a["id"], b["id"], 1)
    too_many = [{**template, "id": new_id()} for _ in range(8191)]
    refused = await bank.post("/v1/transfers/batch", {"transfers": too_many})
    assert (refused.status_code, refused.json()["code"]) == (422, "validation_error")
    assert await count(db, "payments") == 1
    started = time.perf_counter()
    results = (await batch(bank, too_many[:8190])).json()["results"]
    elapsed = time.perf_counter() - started
    assert len(results) == 8190
    assert sum(r["status"] == "posted" for r in results) == 8190
    assert await bank.balance(b["id"]) == 8190
    assert elapsed < 20, f"8190 items took {elapsed:.1f} s"


async def test_batch_is_for_ops_only(app: Any, bank: BankDriver) -> None:
    customer = await bank.customer()
    own = await bank.account(customer["id"], funded=1_000)
    other = await bank.account()
    async with customer_client(app, bank, customer["id"]) as as_customer:
        response = await as_customer.post(
            "/v1/transfers/batch", {"transfers": [item(own["id"], other["id"], 1)]}
        )
    assert (response.status_code, response.json()["code"]) == (403, "forbidden")
    assert await bank.balance(own["id"]) == 1_000


class RenderTwiceEngine:
    """A stand-in for the ledger engine that renders a submission twice, as the engine does when
    it retries a commit: first with every chain refused, then with every chain accepted."""

    async def submit(self, submission: Submission) -> Answer:
        now = datetime.now(UTC)
        refused = [ItemOutcome(ResultCode.INSUFFICIENT_FUNDS, 0) for _ in submission.chains]
        submission.render(refused, now)
        accepted = [ItemOutcome(ResultCode.OK) for _ in submission.chains]
        return Answer(submission.render(accepted, now).answer, replayed=False)


async def test_a_retried_render_answers_from_scratch(app: Any, bank: BankDriver) -> None:
    a = await bank.account(funded=1_000)
    b = await bank.account()
    services = app.state.services
    deps = PaymentDeps(services.pool, RenderTwiceEngine(), services.fees, InFlight())  # type: ignore[arg-type]
    body = BatchIn.model_validate({"transfers": [item(a["id"], b["id"], 1)]})
    answer = await submit_batch(deps, body, Claim("ops", "render-twice", b""))
    assert answer.answer.body["results"] == [{"id": str(body.transfers[0].id), "status": "posted"}]
