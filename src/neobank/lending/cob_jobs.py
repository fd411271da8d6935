"""Lending's jobs: close of business for a business date (one run at a time, resumable: a
requeued job skips the loans already done), and a sweep that finishes accepts a crash left
half done."""

from __future__ import annotations

from datetime import date

import procrastinate
import structlog
from procrastinate import JobContext

from neobank.lending.close_of_business import run_close_of_business
from neobank.lending.loans import finish_pending_accepts
from neobank.workers.maintenance import EVERY_MINUTE
from neobank.workers.queue import resources_of

__all__ = ["COB_LOCK", "COB_TASK", "LENDING_QUEUE", "SWEEP_TASK", "blueprint"]

log = structlog.get_logger(__name__)

LENDING_QUEUE = "lending"
COB_TASK = "lending.close_of_business"
COB_LOCK = "lending.close_of_business"  # dates run one at a time, in order
SWEEP_TASK = "lending.finish_pending_accepts"

blueprint = procrastinate.Blueprint()


@blueprint.task(name=COB_TASK, queue=LENDING_QUEUE, lock=COB_LOCK, pass_context=True)
async def close_of_business(context: JobContext, business_date: str) -> int:
    processed = await run_close_of_business(
        resources_of(context), date.fromisoformat(business_date)
    )
    log.info("lending.close_of_business", business_date=business_date, loan_days=processed)
    return processed


@blueprint.periodic(cron=EVERY_MINUTE)
@blueprint.task(name=SWEEP_TASK, queue=LENDING_QUEUE, queueing_lock=SWEEP_TASK, pass_context=True)
async def finish_accepts(context: JobContext, timestamp: int) -> int:
    finished = await finish_pending_accepts(resources_of(context))
    if finished:
        log.warning("lending.finished_pending_accepts", applications=finished)
    return finished
