"""The FastAPI application: routers of every domain, auth, errors, limits, metrics."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial

import structlog
from fastapi import FastAPI, Request
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST
from starlette.datastructures import State

from neobank import __version__
from neobank.agencies.client import build_agency_clients
from neobank.api.bodies import StorableText
from neobank.api.deps import Services
from neobank.api.errors import install_error_handlers, problem_response
from neobank.api.hot import WithHotRoutes
from neobank.api.json_body import install_body_schemas
from neobank.api.limits import BodySizeLimit
from neobank.api.responses import FastJSON
from neobank.api.shedding import LoadShedder, PriorityShedding
from neobank.config import Settings, ensure_admin_token, load_settings
from neobank.customers.auth import TokenIssuer, load_signing_key
from neobank.customers.router import router as customers_router
from neobank.db.pool import create_pool
from neobank.db.runtime import resolve_database_url
from neobank.deposits.router import router as deposits_router
from neobank.errors import problem_document
from neobank.idempotency import InFlight
from neobank.ledger.chart import ensure_bank_books
from neobank.ledger.engine import LedgerEngine
from neobank.ledger.router import router as ledger_router
from neobank.lending.catalog import seed_catalog
from neobank.lending.loans_router import router as loans_router
from neobank.lending.router import router as lending_router
from neobank.observability import metrics
from neobank.observability.http import RequestMetrics
from neobank.observability.logging import configure_logging
from neobank.onboarding.changes import ChangeFeed
from neobank.onboarding.router import router as onboarding_router
from neobank.onboarding.waiting_room import WaitingRoom, build_waiting_room
from neobank.onboarding.waiting_room.router import router as waiting_room_router
from neobank.ops.router import router as ops_router
from neobank.payments.fees import FeeBook
from neobank.payments.holds_router import router as holds_router
from neobank.payments.router import HOT_ROUTES
from neobank.payments.router import router as payments_router
from neobank.workers.queue import JobResources
from neobank.workers.worker import JobWorker

__all__ = ["create_app"]

log = structlog.get_logger(__name__)

# A request is matched against the routes in this order, each router's routes in turn; no
# path belongs to two routers (tests/api/test_routes.py), so the busiest go first: the
# transfers' (at the single-transfer peak, first instead of third took 8-14% off the API
# process's CPU a transfer), then a sign-up's.
ROUTERS = (
    payments_router,
    waiting_room_router,
    onboarding_router,
    customers_router,
    deposits_router,
    holds_router,
    ledger_router,
    lending_router,
    loans_router,
    ops_router,
)

DEFAULT_CURRENCY = "KRW"
AGENCIES_MOUNT_PATH = "/_agencies"
POOL_SIZE_MAX = 20


def create_app(
    settings: Settings | None = None,
    *,
    run_workers: bool | None = None,
    waiting_room: WaitingRoom | None = None,
) -> FastAPI:
    """Build the app. The database must be migrated already (`neobank serve` does it).

    `waiting_room` replaces the one built from the settings (a test's own limits)."""
    settings = settings or load_settings()
    configure_logging(json=settings.log_json)
    # Without NEOBANK_AGENCIES_URL the simulated agencies run in this process (mounted below).
    agencies = build_agency_clients(settings.agencies_url)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        database_url = resolve_database_url(settings)
        pool = await create_pool(database_url, max_size=POOL_SIZE_MAX)
        await ensure_bank_books(pool, DEFAULT_CURRENCY)
        await seed_catalog(pool)
        engine = LedgerEngine(pool)
        await engine.start()
        ops_token, _ = ensure_admin_token(settings)
        signing_key = await load_signing_key(pool)
        room = waiting_room or build_waiting_room(
            redis_url=settings.redis_url, signing_key=signing_key
        )
        app.state.shedder.on_onboarding_request = partial(_time_onboarding, app.state)
        # A room only this process sees takes what workers without it report in their notices.
        changes = ChangeFeed(pool, None if room.shared else room)
        await changes.ensure_listening()
        app.state.services = Services(
            settings=settings,
            pool=pool,
            engine=engine,
            inflight=InFlight(),
            fees=FeeBook(pool),
            tokens=TokenIssuer(signing_key),
            ops_token=ops_token,
            waiting_room=room,
            onboarding_changes=changes,
        )
        workers = None
        if _workers_enabled(run_workers):
            resources = JobResources(pool, engine, agencies, room)
            workers = JobWorker(database_url, resources)
            await workers.start()
        gc_thresholds = _tune_garbage_collector()
        log.info("neobank.started", embedded=settings.embedded, workers=bool(workers))
        try:
            yield
        finally:
            _restore_garbage_collector(gc_thresholds)
            if workers:
                await workers.stop()
            await agencies.aclose()
            await changes.aclose()
            await engine.stop()
            await room.aclose()
            await pool.close()

    app = WithHotRoutes(
        title="neobank",
        version=__version__,
        description="An open-source platform for running an internet-only bank.",
        lifespan=lifespan,
        hot_routes=HOT_ROUTES,
    )
    install_error_handlers(app)
    # The last added runs first: the size limit bounds what StorableText reads.
    app.add_middleware(StorableText)
    app.add_middleware(BodySizeLimit)
    app.add_middleware(RequestMetrics)
    # Added last, so it runs first: an overloaded process refuses sign-up work cheaply.
    app.state.shedder = LoadShedder()
    app.add_middleware(PriorityShedding, shedder=app.state.shedder)
    for router in ROUTERS:
        app.include_router(router)
    if agencies.simulator_app is not None:
        # So a person (or a test) can read the 1 KRW memo: /_agencies/_sim/clearing/credits.
        app.mount(AGENCIES_MOUNT_PATH, agencies.simulator_app)
    _add_operational_routes(app)
    install_body_schemas(app)
    return app


# Requests allocate many short-lived objects; a larger first generation means fewer
# collections, and freezing what start-up built keeps it out of every later collection.
GC_GENERATION0_THRESHOLD = 20_000


def _tune_garbage_collector() -> tuple[int, int, int]:
    """Returns the thresholds it replaced, for `_restore_garbage_collector`."""
    gc.collect()
    gc.freeze()
    before = gc.get_threshold()
    gc.set_threshold(GC_GENERATION0_THRESHOLD, before[1], before[2])
    return before


def _restore_garbage_collector(thresholds: tuple[int, int, int]) -> None:
    gc.set_threshold(*thresholds)
    gc.unfreeze()


def _time_onboarding(state: State, latency_s: float) -> None:
    """An onboarding request's latency, for the room the app serves now (a test may swap it)."""
    state.services.waiting_room.observe_onboarding_request(latency_s)


def _workers_enabled(run_workers: bool | None) -> bool:
    import os

    if run_workers is not None:
        return run_workers
    return os.environ.get("NEOBANK_RUN_WORKERS", "1") == "1"


def _add_operational_routes(app: FastAPI) -> None:
    @app.get("/healthz", tags=["operations"])
    async def healthz() -> FastJSON:
        return FastJSON({"status": "ok"})

    @app.get("/readyz", tags=["operations"])
    async def readyz(request: Request) -> Response:
        services: Services | None = getattr(request.app.state, "services", None)
        try:
            assert services is not None
            await services.pool.fetchval("SELECT 1")
        except Exception as exc:
            log.warning("http.not_ready", error=repr(exc))
            return problem_response(
                problem_document(503, "database_unavailable", "The database does not answer")
            )
        return FastJSON({"status": "ready"})

    @app.get("/metrics", tags=["operations"], include_in_schema=False)
    async def prometheus_metrics() -> Response:
        return Response(metrics.render_metrics(), media_type=CONTENT_TYPE_LATEST)
