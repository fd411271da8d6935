"""What a request hands the ledger engine (`Submission`), and what it gets back (`Answer`)."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import asyncpg

from neobank.db.statement import WriteStatement
from neobank.errors import NeobankError
from neobank.events.outbox import EventRow, add_events
from neobank.idempotency.service import Claim, StoredAnswer, add_answers, add_new_claims
from neobank.ledger.domain import ItemOutcome, TransferSpec

__all__ = ["Answer", "Rendered", "RowPart", "RowWriter", "Submission", "render_batch"]

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


def render_batch(
    statement: WriteStatement,
    live: Sequence[Submission],
    items: list[ItemOutcome],
    now: datetime,
    *,
    new_claims: bool = False,
) -> tuple[dict[int, Answer | NeobankError], dict[RowWriter, list[tuple[Any, ...]]]]:
    """Render each live submission's outcomes (`items`, in the order of their chains); add
    the answers (with their claims if `new_claims`, see `add_new_claims`), events and parts
    to `statement`; return each submission's answer (by `id()`) and the extra rows to write,
    by writer."""
    answers: list[tuple[Claim, StoredAnswer]] = []
    events: list[EventRow] = []
    writes: dict[RowWriter, list[tuple[Any, ...]]] = defaultdict(list)
    parts: dict[RowPart, list[tuple[Any, ...]]] = defaultdict(list)
    by_sub: dict[int, Answer | NeobankError] = {}
    position = 0
    for sub in live:
        outcomes = items[position : position + len(sub.chains)]
        position += len(sub.chains)
        rendered = sub.render(outcomes, now)
        if sub.claim is not None:
            answers.append((sub.claim, rendered.answer))
        events.extend(rendered.events)
        for writer, row in rendered.writes:
            writes[writer].append(row)
        for part, row in rendered.parts:
            parts[part].append(row)
        by_sub[id(sub)] = Answer(rendered.answer, replayed=False, outcomes=outcomes)
    (add_new_claims if new_claims else add_answers)(statement, answers)
    add_events(statement, events, now)
    for part, rows in parts.items():
        part(statement, rows)
    return by_sub, writes
