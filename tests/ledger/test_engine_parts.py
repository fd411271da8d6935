"""Rows a submission adds to its batch's one write statement (`Rendered.parts`)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import asyncpg

from neobank.db.statement import WriteStatement
from neobank.events.outbox import EventRow, add_events
from neobank.idempotency import StoredAnswer
from neobank.ledger.domain import ItemOutcome, TransferSpec
from neobank.ledger.engine import LedgerEngine, Rendered, Submission
from tests.ledger.conftest import open_accounts


def _add_marks(statement: WriteStatement, rows: list[tuple[Any, ...]]) -> None:
    now = rows[0][1]
    add_events(statement, [EventRow("test.mark", "transfer", str(r[0]), {}) for r in rows], now)


def _render(outcomes: list[ItemOutcome], now: datetime) -> Rendered:
    answer = StoredAnswer(200, {"codes": [o.code.value for o in outcomes]})
    return Rendered(answer, parts=[(_add_marks, (len(outcomes), now))])


async def test_parts_of_every_submission_are_written_with_the_batch(
    engine: LedgerEngine, pool: asyncpg.Pool
) -> None:
    bank, customer = await open_accounts(pool, 0, 0)

    def chain() -> list[TransferSpec]:
        return [TransferSpec(uuid.uuid4(), bank, customer, 10, "KRW", 1)]

    answers = [
        await engine.submit(Submission([chain() for _ in range(n)], _render)) for n in (1, 2)
    ]
    assert [a.answer.body["codes"] for a in answers] == [["ok"], ["ok", "ok"]]
    marks = await pool.fetch(
        "SELECT aggregate_id FROM events WHERE type = 'test.mark' ORDER BY aggregate_id"
    )
    assert [m["aggregate_id"] for m in marks] == ["1", "2"]
