"""Tasks the worker tests defer: each leaves a row in job_effects so a test can see it ran."""

from __future__ import annotations

import asyncio

import procrastinate
from procrastinate import JobContext, RetryStrategy

from neobank.workers.queue import resources_of

__all__ = ["EFFECTS_TABLE", "PATH", "blueprint"]

PATH = "tests.workers.jobs:blueprint"
EFFECTS_TABLE = """
CREATE TABLE IF NOT EXISTS job_effects (
    key text NOT NULL,
    attempt integer NOT NULL,
    at timestamptz NOT NULL DEFAULT clock_timestamp()
)
"""
FLAKY_ATTEMPTS_MAX = 3

blueprint = procrastinate.Blueprint()


async def _record(context: JobContext, key: str) -> None:
    await resources_of(context).pool.execute(
        "INSERT INTO job_effects (key, attempt) VALUES ($1, $2)", key, context.job.attempts
    )


@blueprint.task(name="test.record", pass_context=True)
async def record(context: JobContext, key: str) -> None:
    await _record(context, key)


@blueprint.task(name="test.noop")
async def noop() -> None:
    return None


@blueprint.task(
    name="test.flaky", pass_context=True, retry=RetryStrategy(max_attempts=FLAKY_ATTEMPTS_MAX)
)
async def flaky(context: JobContext, key: str, failures: int) -> None:
    """Fails its first `failures` attempts (each leaves a row), then succeeds."""
    await _record(context, key)
    if context.job.attempts < failures:
        raise RuntimeError(f"attempt {context.job.attempts} fails on purpose")


@blueprint.task(name="test.slow", pass_context=True)
async def slow(context: JobContext, key: str, seconds: float) -> None:
    """Marks its start, sleeps (on its first attempt only), marks its end."""
    await _record(context, f"{key}:started")
    if context.job.attempts == 0:
        await asyncio.sleep(seconds)
    await _record(context, f"{key}:done")
