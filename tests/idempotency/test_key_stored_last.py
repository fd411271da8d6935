"""`run_idempotent` stores the key with the answer, after the work: each way that bet loses
answers what claiming the key first would have answered, and leaves nothing of the work."""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg
import orjson
import pytest

from neobank.api.deps import Services
from neobank.api.idempotent import Work, run_idempotent
from neobank.events import EventRow, Outbox
from neobank.idempotency import Claim, fetch_answer
from neobank.idempotency.errors import IdempotencyKeyMismatch
from neobank.onboarding.errors import StepNotReady

SCOPE = "ops"
EVENT_TYPE = "test.key_stored_last"


def claim(key: str, request_hash: bytes = b"h" * 32) -> Claim:
    return Claim(SCOPE, key, request_hash)


async def writes_an_event(conn: asyncpg.Connection, outbox: Outbox) -> dict[str, Any]:
    await conn.execute("SELECT 1")  # the work's own statements run first
    outbox.add(EventRow(EVENT_TYPE, "test", "1", {}), await conn.fetchval("SELECT now()"))
    return {"done": True}


async def refuses(conn: asyncpg.Connection, outbox: Outbox) -> dict[str, Any]:
    raise StepNotReady("not now")


async def events_written(db: asyncpg.Connection) -> int:
    count: int = await db.fetchval("SELECT count(*) FROM events WHERE type = $1", EVENT_TYPE)
    return count


async def store_key(
    db: asyncpg.Connection, key: str, request_hash: bytes = b"h" * 32
) -> dict[str, Any]:
    """A key with its answer, as another process's committed request would leave it."""
    body = {"stored": key}
    await db.execute(
        "INSERT INTO idempotency_keys (scope, key, request_hash, status_code, response) "
        "VALUES ($1, $2, $3, 201, $4::text::jsonb)",
        SCOPE,
        key,
        request_hash,
        orjson.dumps(body).decode(),
    )
    return body


@pytest.fixture
def services(app: Any) -> Services:
    found: Services = app.state.services
    return found


async def test_a_new_key_is_stored_with_the_answer_and_the_events(
    services: Services, db: asyncpg.Connection
) -> None:
    response = await run_idempotent(services, claim("new"), 201, writes_an_event)
    assert response.status_code == 201 and "Idempotent-Replayed" not in response.headers
    stored = await fetch_answer(db, claim("new"))
    assert stored is not None and (stored.status_code, stored.body) == (201, {"done": True})
    assert await events_written(db) == 1


@pytest.mark.parametrize("work", [writes_an_event, refuses], ids=["done", "refused"])
async def test_a_stored_key_replays_whatever_the_work_does_and_leaves_nothing_of_it(
    services: Services, db: asyncpg.Connection, work: Work
) -> None:
    """Done: the key's insert fails and rolls the work back. Refused (a completed
    onboarding's work run again finds it closed): the refusal gives way to the answer."""
    body = await store_key(db, "seen")
    response = await run_idempotent(services, claim("seen"), 201, work)
    assert response.headers["Idempotent-Replayed"] == "true"
    assert orjson.loads(response.body) == body
    assert await events_written(db) == 0


async def test_a_stored_key_of_another_request_is_a_mismatch_and_nothing_is_written(
    services: Services, db: asyncpg.Connection
) -> None:
    await store_key(db, "other", request_hash=b"x" * 32)
    with pytest.raises(IdempotencyKeyMismatch):
        await run_idempotent(services, claim("other"), 201, writes_an_event)
    assert await events_written(db) == 0


async def test_a_refusal_with_the_key_unused_is_answered_and_leaves_the_key_free(
    services: Services, db: asyncpg.Connection
) -> None:
    with pytest.raises(StepNotReady):
        await run_idempotent(services, claim("free"), 201, refuses)
    assert await db.fetchval("SELECT count(*) FROM idempotency_keys WHERE key = 'free'") == 0
    response = await run_idempotent(services, claim("free"), 201, writes_an_event)
    assert response.status_code == 201 and "Idempotent-Replayed" not in response.headers


@pytest.mark.parametrize("first_commits", [True, False])
async def test_a_refusal_waits_for_a_request_still_storing_the_key(
    services: Services, db: asyncpg.Connection, database_url: str, first_commits: bool
) -> None:
    """The first request (another process) has stored the key but not committed: the
    duplicate's refusal waits for it, then replays its answer, or, if it rolled back, is
    answered as a refusal."""
    other = await asyncpg.connect(database_url)
    try:
        transaction = other.transaction()
        await transaction.start()
        body = await store_key(other, "racing")
        duplicate = asyncio.create_task(run_idempotent(services, claim("racing"), 201, refuses))
        await asyncio.sleep(0.3)
        assert not duplicate.done(), "the duplicate must wait for the first request"
        if first_commits:
            await transaction.commit()
            response = await asyncio.wait_for(duplicate, 10)
            assert response.headers["Idempotent-Replayed"] == "true"
            assert orjson.loads(response.body) == body
        else:
            await transaction.rollback()
            with pytest.raises(StepNotReady):
                await asyncio.wait_for(duplicate, 10)
    finally:
        await other.close()
    assert await db.fetchval("SELECT count(*) FROM idempotency_keys WHERE key = 'racing'") == (
        1 if first_commits else 0
    )


async def test_another_unique_violation_of_the_work_is_not_taken_for_the_key(
    services: Services, db: asyncpg.Connection
) -> None:
    async def duplicates_a_secret(conn: asyncpg.Connection, outbox: Outbox) -> dict[str, Any]:
        for _ in range(2):
            await conn.execute(
                "INSERT INTO bank_secrets (name, value) VALUES ('test-twice', '\\x00')"
            )
        return {}

    with pytest.raises(asyncpg.UniqueViolationError):
        await run_idempotent(services, claim("unique"), 201, duplicates_a_secret)
    assert await db.fetchval("SELECT count(*) FROM idempotency_keys WHERE key = 'unique'") == 0
