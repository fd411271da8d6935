"""Idempotency keys: claim, store the answer, replay it.

A key is claimed by inserting its row in the same transaction that does the work and stores
the answer, so a crash can never leave a key whose effect happened without a stored answer,
nor a key stuck "in use". While a request runs, this process remembers its key in memory and
answers a concurrent duplicate 409; a duplicate arriving at another process waits on the row
lock and then replays the stored answer.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import asyncpg
import orjson

from neobank.db.statement import WriteStatement
from neobank.idempotency.errors import IdempotencyKeyInUse, IdempotencyKeyMismatch

__all__ = [
    "KEYS_PRIMARY_KEY",
    "KEY_RETENTION_HOURS",
    "Claim",
    "InFlight",
    "StoredAnswer",
    "add_answers",
    "add_new_claims",
    "claim_many",
    "fetch_answer",
    "purge_expired",
    "request_hash",
    "store_many",
]

# Keys live at least 24 hours (API.md); the purge job keeps them a day longer than that.
KEY_RETENTION_HOURS = 48
# What a unique violation names when a key inserted as new was stored before.
KEYS_PRIMARY_KEY = "pk_idempotency_keys"


@dataclass(frozen=True)
class Claim:
    scope: str
    key: str
    request_hash: bytes


@dataclass(frozen=True)
class StoredAnswer:
    status_code: int
    body: Any


def request_hash(method: str, path: str, body: Any) -> bytes:
    canonical = orjson.dumps([method, path, body], option=orjson.OPT_SORT_KEYS)
    return hashlib.sha256(canonical).digest()


class InFlight:
    """The keys this process is working on right now."""

    def __init__(self) -> None:
        self._keys: set[tuple[str, str]] = set()

    def enter(self, claim: Claim) -> None:
        ident = (claim.scope, claim.key)
        if ident in self._keys:
            raise IdempotencyKeyInUse()
        self._keys.add(ident)

    def leave(self, claim: Claim) -> None:
        self._keys.discard((claim.scope, claim.key))


async def claim_many(conn: asyncpg.Connection, claims: Sequence[Claim]) -> set[tuple[str, str]]:
    """Insert the claims (in key order, so two batches never deadlock on them).

    Returns the (scope, key) pairs this transaction now owns; the others were stored before.
    """
    if not claims:
        return set()
    ordered = sorted(claims, key=lambda c: (c.scope, c.key))
    rows = await conn.fetch(
        """
        INSERT INTO idempotency_keys (scope, key, request_hash)
        SELECT * FROM unnest($1::text[], $2::text[], $3::bytea[])
        ON CONFLICT DO NOTHING
        RETURNING scope, key
        """,
        [c.scope for c in ordered],
        [c.key for c in ordered],
        [c.request_hash for c in ordered],
    )
    return {(r["scope"], r["key"]) for r in rows}


_ANSWER_ROW = (("scope", "text"), ("key", "text"), ("status", "int"), ("body", "jsonb"))
_CLAIM_ROW = (
    ("scope", "text"),
    ("key", "text"),
    ("hash", "text"),
    ("status", "int"),
    ("body", "jsonb"),
)


def add_answers(statement: WriteStatement, answers: Sequence[tuple[Claim, StoredAnswer]]) -> None:
    """Add storing the answers under their (claimed) keys to a statement of several writes."""
    if not answers:
        return
    rows = [(c.scope, c.key, a.status_code, a.body) for c, a in answers]
    statement.add(
        f"""
        UPDATE idempotency_keys k SET status_code = u.status, response = u.body
        FROM {statement.rows(_ANSWER_ROW, rows)}
        WHERE k.scope = u.scope AND k.key = u.key
        """
    )


def add_new_claims(
    statement: WriteStatement, answers: Sequence[tuple[Claim, StoredAnswer]]
) -> None:
    """Add claiming keys and storing their answers, in one insert, to a statement of several
    writes: for work done on the bet that its keys are new. A key stored before (or being
    stored by a transaction still open) fails the whole statement with a unique violation
    once that one commits; the caller then claims them as `claim_many` does."""
    if not answers:
        return
    ordered = sorted(answers, key=lambda a: (a[0].scope, a[0].key))
    # JSON has no bytes: the request hash goes as hex.
    rows = [(c.scope, c.key, c.request_hash.hex(), a.status_code, a.body) for c, a in ordered]
    statement.add(
        f"""
        INSERT INTO idempotency_keys (scope, key, request_hash, status_code, response)
        SELECT u.scope, u.key, decode(u.hash, 'hex'), u.status, u.body
        FROM {statement.rows(_CLAIM_ROW, rows)}
        """
    )


async def store_many(
    conn: asyncpg.Connection, answers: Sequence[tuple[Claim, StoredAnswer]]
) -> None:
    statement = WriteStatement()
    add_answers(statement, answers)
    await statement.execute(conn)


async def fetch_answer(
    conn: asyncpg.Connection | asyncpg.Pool, claim: Claim
) -> StoredAnswer | None:
    """The stored answer for a key, checked against the request; None if the key is unused."""
    row = await conn.fetchrow(
        "SELECT request_hash, status_code, response FROM idempotency_keys "
        "WHERE scope = $1 AND key = $2",
        claim.scope,
        claim.key,
    )
    if row is None:
        return None
    if bytes(row["request_hash"]) != claim.request_hash:
        raise IdempotencyKeyMismatch()
    if row["status_code"] is None:
        # Claimed by a transaction that has not committed yet (another process).
        raise IdempotencyKeyInUse()
    return StoredAnswer(row["status_code"], row["response"])


async def purge_expired(conn: asyncpg.Connection | asyncpg.Pool) -> int:
    """Delete the keys stored more than `KEY_RETENTION_HOURS` ago; returns how many."""
    result = await conn.execute(
        "DELETE FROM idempotency_keys WHERE created_at < now() - make_interval(hours => $1)",
        KEY_RETENTION_HOURS,
    )
    return int(result.split()[-1])
