"""What a request hands the ledger engine (`Submission`), and what it gets back (`Answer`)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import asyncpg

from neobank.db.statement import WriteStatement
from neobank.events.outbox import EventRow
from neobank.idempotency.service import Claim, StoredAnswer
from neobank.ledger.domain import ItemOutcome, TransferSpec

__all__ = ["Answer", "Rendered", "RowPart", "RowWriter", "Submission"]

# Writes a batch's rows in a statement of its own (one round trip per writer and batch).
RowWriter = Callable[[asyncpg.Connection, list[tuple[Any, ...]]], Awaitable[None]]
# Adds a batch's rows to the batch's one write statement (no round trip of its own).
RowPart = Callable[[WriteStatement, list[tuple[Any, ...]]], None]


@dataclass
class Rendered:
    """What a submission's outcomes become: the answer, its events and its extra rows."""

    answer: StoredAnswer
    events: list[EventRow] = field(default_factory=list)
    writes: list[tuple[RowWriter, tuple[Any, ...]]] = field(default_factory=list)
    # Extra rows written in the batch's one statement (see `neobank.db.statement`), grouped
    # by part: cheaper than `writes`, which cost a round trip per writer and batch.
    parts: list[tuple[RowPart, tuple[Any, ...]]] = field(default_factory=list)


@dataclass(frozen=True)
class Answer:
    answer: StoredAnswer
    replayed: bool
    outcomes: list[ItemOutcome] | None = None


@dataclass
class Submission:
    """One request's chains, its idempotency claim, and how its outcomes become an answer.

    `render` must be a pure function of its arguments: the engine calls it again whenever it
    retries a transaction (deadlock, collision with another process) or splits a batch, and
    only the last call's answer, events and rows are committed.
    """

    chains: list[list[TransferSpec]]
    render: Callable[[list[ItemOutcome], datetime], Rendered]
    claim: Claim | None = None
    future: asyncio.Future[Answer] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )

    @property
    def transfer_count(self) -> int:
        return sum(len(chain) for chain in self.chains)
