"""The agency checks of an onboarding run in one job: one queued per sign-up, both checks at
once, and a check asked for while the job runs is taken by that job (no second job, no check
sent twice)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import asyncpg
import httpx
import pytest

from neobank.config import Settings
from neobank.onboarding.service import CHECKS_TASK
from tests.onboarding.people import SIM, Person

JOBS = "SELECT task_name, lock, status FROM procrastinate.procrastinate_jobs ORDER BY id"
ISSUE_DATE = {"id_card_issue_date": "2015-06-01"}


@pytest.fixture
async def quiet_http(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """The bank without its job worker: queued jobs stay in the queue to be read."""
    from neobank.api.app import create_app

    application = create_app(settings, run_workers=False)
    async with application.router.lifespan_context(application):
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://neobank.test") as c:
            yield c


def _account(person: Person) -> dict[str, str]:
    return {"bank_code": "004", "account_number": person.account_number}


async def test_both_checks_asked_back_to_back_queue_one_job(
    quiet_http: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    person = Person(quiet_http)
    assert (await person.start()).status_code == 201
    assert (await person.post("id-verification", ISSUE_DATE)).status_code == 202
    assert (await person.post("account-verification", _account(person))).status_code == 202
    jobs = [tuple(r) for r in await db.fetch(JOBS)]
    onboarding_jobs = [j for j in jobs if j[0] == CHECKS_TASK]
    assert onboarding_jobs == [(CHECKS_TASK, f"checks:{person.onboarding['id']}", "todo")]


async def test_one_job_runs_both_checks_and_the_sign_up_completes(
    http: httpx.AsyncClient,
) -> None:
    person = Person(http)
    assert (await person.start()).status_code == 201
    assert (await person.post("id-verification", ISSUE_DATE)).status_code == 202
    assert (await person.post("account-verification", _account(person))).status_code == 202
    await person.wait_for("account_verification", "sent")
    status = await person.wait_for("id_verification", "passed")
    assert status["steps"]["account_verification"]["status"] == "sent"
    code = await person.code_from_memo()
    confirmed = await person.post("account-verification/confirm", {"code": code})
    assert confirmed.status_code == 200, confirmed.text
    completed = await person.post("complete")
    assert completed.status_code in (200, 201), completed.text


async def test_a_check_asked_while_the_job_runs_is_taken_by_that_job(
    http: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    """The identity agency is slow: the account check is asked while the job waits for it.
    The request sees a check pending and queues nothing; the job, once the identity answer is
    recorded, reads the onboarding again and sends the 1 KRW credit."""
    slow = await http.put(f"{SIM}/config", json={"identity": {"latency_ms": 1500}})
    assert slow.status_code == 200, slow.text
    person = Person(http)
    assert (await person.start()).status_code == 201
    assert (await person.post("id-verification", ISSUE_DATE)).status_code == 202
    for _ in range(200):  # until the worker has taken the job
        if [tuple(r) for r in await db.fetch(JOBS)][-1:] == [
            (CHECKS_TASK, f"checks:{person.onboarding['id']}", "doing")
        ]:
            break
        await asyncio.sleep(0.01)
    else:
        pytest.fail("the checks job never started")
    assert (await person.post("account-verification", _account(person))).status_code == 202
    queued = [tuple(r) for r in await db.fetch(JOBS) if r["task_name"] == CHECKS_TASK]
    assert [status for _, _, status in queued] == ["doing"], queued
    await person.wait_for("account_verification", "sent")
    assert (await person.status())["steps"]["id_verification"]["status"] == "passed"
    credits = await http.get(
        f"{SIM}/clearing/credits", params={"account_number": person.account_number}
    )
    assert len(credits.json()["items"]) == 1  # sent once
