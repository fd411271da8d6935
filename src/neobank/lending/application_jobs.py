"""The loan application's background job: ask the credit bureau (one stable inquiry key per
application), then the guarantee insurer when the product needs it, then decide; and the
periodic job that expires offers.

Each stage commits on its own (see `neobank.lending.applications`), so a job that is retried
or requeued after a crash starts at the first stage not yet recorded and never repeats a
finished agency call. Agency trouble (timeouts, 5xx, 429, an open circuit) is counted on the
application, which stays pending with an honest stage, and the job retries (the onboarding's
AgencyRetry: backoff, or the breaker's own time when it is open); nobody is declined for an
agency's fault.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import procrastinate
import structlog
from procrastinate import JobContext

from neobank.agencies.client import AgencyClients, AgencyError
from neobank.lending import applications, catalog
from neobank.lending.offers import expire_offers
from neobank.onboarding.jobs import AgencyRetry
from neobank.onboarding.sealing import sealer_for
from neobank.workers.maintenance import MAINTENANCE_PRIORITY, MAINTENANCE_QUEUE
from neobank.workers.queue import JobResources, resources_of

__all__ = ["EXPIRE_TASK", "blueprint", "decide_application", "expire_offers_job"]

log = structlog.get_logger(__name__)

EXPIRE_TASK = "lending.expire_offers"
EVERY_MINUTE = "* * * * *"

blueprint = procrastinate.Blueprint()


def _agencies(resources: JobResources) -> AgencyClients:
    if resources.agencies is None:
        raise RuntimeError("this worker has no agency clients: loan decisions cannot run")
    return resources.agencies


@blueprint.task(
    name=applications.DECIDE_TASK,
    queue=applications.AGENCY_QUEUE,
    pass_context=True,
    retry=AgencyRetry(),
)
async def decide_application(context: JobContext, application_id: str) -> None:
    resources = resources_of(context)
    pool, the_id = resources.pool, uuid.UUID(application_id)
    row = await applications.load_for_job(pool, the_id)
    if row is None or row["status"] != "pending":
        return  # decided, cancelled, or a duplicate run: nothing to do
    product = await catalog.product_version(pool, row["product_code"], row["product_version"])
    agencies = _agencies(resources)
    if row["bureau"] is None:
        await applications.enter_stage(pool, the_id, "bureau", datetime.now(UTC))
        sealer = await sealer_for(pool)
        try:
            report = await agencies.bureau.inquire(
                inquiry_key=row["inquiry_key"],
                resident_id=sealer.open(row["resident_id_sealed"]),
                name=row["customer_name"],
            )
        except AgencyError as exc:
            await applications.agency_trouble(pool, the_id, exc, datetime.now(UTC))
            raise
        next_stage = "guarantee" if product.guarantee_required else "deciding"
        row = await applications.record_bureau(pool, the_id, report, next_stage, datetime.now(UTC))
        if row is None:
            return  # cancelled meanwhile, or another run recorded it first
    if product.guarantee_required and row["guarantee"] is None:
        assert product.guarantee_product is not None  # LoanProduct checks it
        await applications.enter_stage(pool, the_id, "guarantee", datetime.now(UTC))
        try:
            quote = await agencies.guarantee.quote(
                score=row["bureau"]["score"],
                amount=row["amount"],
                product=product.guarantee_product,
            )
        except AgencyError as exc:
            await applications.agency_trouble(pool, the_id, exc, datetime.now(UTC))
            raise
        if await applications.record_guarantee(pool, the_id, quote, datetime.now(UTC)) is None:
            return
    decision = await applications.decide_and_record(pool, the_id, datetime.now(UTC))
    if decision is not None:
        log.info(
            "lending.application_decided",
            application_id=application_id,
            approved=decision.approved,
            reasons=decision.reasons,
        )


@blueprint.periodic(cron=EVERY_MINUTE)
@blueprint.task(
    name=EXPIRE_TASK,
    queue=MAINTENANCE_QUEUE,
    priority=MAINTENANCE_PRIORITY,
    lock=EXPIRE_TASK,
    queueing_lock=EXPIRE_TASK,
    pass_context=True,
)
async def expire_offers_job(context: JobContext, timestamp: int) -> int:
    expired = await expire_offers(resources_of(context).pool, datetime.now(UTC))
    if expired:
        log.info("lending.offers_expired", items=expired)
    return expired
