"""`neobank loadtest loans`: many loan applications against a real bank while the credit bureau
is slow, flaky and capped. Measures what the customer feels (the submission's latency) and
what the bank gets done (decisions per second against the bureau's capacity), and checks that
each application cost exactly one hard inquiry.

The bank and the simulators run as their own processes (see `services.py`); this process is
the load generator: asyncio + httpx, open-model arrivals at a fixed rate.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.progress import Progress

from neobank.loadtest.identities import applicant, people_per_run_max
from neobank.loadtest.services import Endpoints, start_services

__all__ = ["LoansConfig", "LoansRun", "Submission", "run_loans"]

request_timeout_s = 30.0
setup_concurrency = 32
connections_max = 512
# Reading decisions back: at most this many GETs a second, so the reader does not become
# the load (decided_at is the server's clock, so reading late does not skew the figures).
poll_rate_max_per_s = 200.0
sample_interval_s = 1.0
loan_amount_minor = 5_000_000
loan_term_months = 24
annual_income_minor = 60_000_000


@dataclass(frozen=True)
class LoansConfig:
    out_dir: Path
    applications: int = 3_000
    arrival_rate_per_s: float = 60.0
    bureau_capacity_rps: float = 40.0
    bureau_latency_ms: float = 400.0
    bureau_error_rate: float = 0.15
    workers: int = 1
    drain_timeout_s: float = 600.0
    database_url: str | None = None
    seed: int | None = None

    def simulator_patch(self) -> dict[str, dict[str, float]]:
        return {
            "bureau": {
                "capacity_rps": self.bureau_capacity_rps,
                "latency_ms": self.bureau_latency_ms,
                "error_rate": self.bureau_error_rate,
            }
        }

    def as_document(self) -> dict[str, Any]:
        document = dict(self.__dict__)
        document["out_dir"] = str(self.out_dir)
        if self.database_url:
            document["database_url"] = "(given)"
        return document


@dataclass
class Submission:
    index: int
    sent_at: float  # seconds since the run's start
    latency_s: float
    status: int
    application_id: str | None = None
    decided_at: float | None = None
    outcome: str | None = None
    reasons: list[str] = field(default_factory=list)


@dataclass
class LoansRun:
    config: LoansConfig
    submissions: list[Submission]
    samples: list[dict[str, Any]]  # the bureau's counters once a second
    started_at: str
    drained: bool


async def _people(
    bank: httpx.AsyncClient, count: int, run_salt: int, progress: Progress
) -> list[tuple[str, str, str]]:
    """Customers with a funded-nothing deposit account each: (customer, account, resident id)."""
    task = progress.add_task("Opening customers and accounts", total=count)
    gate = asyncio.Semaphore(setup_concurrency)
    today = date.today()

    async def one(index: int) -> tuple[str, str, str]:
        person = applicant(run_salt, index, today=today)
        async with gate:
            customer = await _post(
                bank,
                "/v1/customers",
                {"name": person.name, "birth_date": str(person.birth_date), "phone": person.phone},
            )
            account = await _post(
                bank, "/v1/accounts", {"customer_id": customer["id"], "product": "demand_deposit"}
            )
        progress.advance(task)
        return customer["id"], account["id"], person.resident_id

    return list(await asyncio.gather(*(one(i) for i in range(count))))


async def _post(bank: httpx.AsyncClient, path: str, body: dict[str, Any]) -> dict[str, Any]:
    response = await bank.post(path, json=body, headers={"Idempotency-Key": secrets.token_hex(16)})
    response.raise_for_status()
    document: dict[str, Any] = response.json()
    return document


async def _submit_all(
    bank: httpx.AsyncClient,
    config: LoansConfig,
    people: list[tuple[str, str, str]],
    clock: Callable[[], float],
    progress: Progress,
) -> list[Submission]:
    """Open model: application i leaves at i / rate whatever the earlier ones are doing."""
    task = progress.add_task("Submitting applications", total=len(people))
    start = clock()

    async def one(index: int, person: tuple[str, str, str]) -> Submission:
        await asyncio.sleep(max(0.0, start + index / config.arrival_rate_per_s - clock()))
        customer_id, account_id, resident_id = person
        body = {
            "customer_id": customer_id,
            "product": "credit_loan",
            "amount": loan_amount_minor,
            "term_months": loan_term_months,
            "account_id": account_id,
            "annual_income": annual_income_minor,
            "resident_id": resident_id,
        }
        sent = clock()
        try:
            response = await bank.post(
                "/v1/loan-applications",
                json=body,
                headers={"Idempotency-Key": f"loadtest-{index}-{secrets.token_hex(8)}"},
            )
            status = response.status_code
            app_id = response.json().get("id") if status == 202 else None
        except httpx.HTTPError:
            status, app_id = 0, None
        progress.advance(task)
        return Submission(index, sent, clock() - sent, status, app_id)

    return list(await asyncio.gather(*(one(i, p) for i, p in enumerate(people))))


async def _read_decisions(
    bank: httpx.AsyncClient,
    submissions: list[Submission],
    epoch_wall_s: float,
    deadline: float,
    clock: Callable[[], float],
    progress: Progress,
) -> bool:
    """GET each pending application in turn, at a bounded rate, until none is pending."""
    pending = [s for s in submissions if s.application_id is not None]
    task = progress.add_task("Waiting for decisions", total=len(pending))
    interval_s = 1.0 / poll_rate_max_per_s
    while pending and clock() < deadline:
        still: list[Submission] = []
        for submission in pending:
            began = clock()
            response = await bank.get(f"/v1/loan-applications/{submission.application_id}")
            document = response.json() if response.status_code == 200 else {}
            if document.get("status", "pending") == "pending":
                still.append(submission)
            else:
                decided = document.get("decided_at")
                submission.outcome = document["status"]
                submission.reasons = (document.get("decision") or {}).get("reasons") or []
                if decided:
                    submission.decided_at = datetime.fromisoformat(decided).timestamp()
                    submission.decided_at -= epoch_wall_s
                progress.advance(task)
            await asyncio.sleep(max(0.0, interval_s - (clock() - began)))
        pending = still
    return not pending


async def _sample(
    agencies: httpx.AsyncClient, samples: list[dict[str, Any]], clock: Callable[[], float]
) -> None:
    while True:
        try:
            stats = (await agencies.get("/_sim/stats")).json()
            samples.append({"t": clock(), **stats["bureau"]})
        except (httpx.HTTPError, ValueError, KeyError):
            pass
        await asyncio.sleep(sample_interval_s)


async def _run(config: LoansConfig, endpoints: Endpoints, console: Console) -> LoansRun:
    started_at = datetime.now().astimezone().isoformat()
    headers = {"Authorization": f"Bearer {endpoints.ops_token}"}
    limits = httpx.Limits(max_connections=connections_max, max_keepalive_connections=64)
    async with (
        httpx.AsyncClient(
            base_url=endpoints.bank_url, headers=headers, timeout=request_timeout_s, limits=limits
        ) as bank,
        httpx.AsyncClient(base_url=endpoints.agencies_url, timeout=request_timeout_s) as agencies,
    ):
        (await agencies.put("/_sim/config", json=config.simulator_patch())).raise_for_status()
        with Progress(console=console, transient=False) as progress:
            salt = secrets.randbelow(people_per_run_max)
            people = await _people(bank, config.applications, salt, progress)
            epoch_mono, epoch_wall = time.monotonic(), time.time()

            def clock() -> float:
                return time.monotonic() - epoch_mono

            samples: list[dict[str, Any]] = []
            sampler = asyncio.create_task(_sample(agencies, samples, clock))
            try:
                submissions = await _submit_all(bank, config, people, clock, progress)
                deadline = clock() + config.drain_timeout_s
                drained = await _read_decisions(
                    bank, submissions, epoch_wall, deadline, clock, progress
                )
                await asyncio.sleep(sample_interval_s * 1.5)  # the counters after the last one
            finally:
                sampler.cancel()
    return LoansRun(config, submissions, samples, started_at, drained)


def run_loans(config: LoansConfig, console: Console) -> LoansRun:
    raw_dir = config.out_dir / "raw"
    raw_dir.mkdir(parents=True, exist_ok=True)
    with ExitStack() as stack:
        with console.status("Starting the agency simulators and the bank..."):
            endpoints = start_services(
                raw_dir,
                stack,
                seed=config.seed,
                admin_token=None,
                database_url=config.database_url,
                workers=config.workers,
            )
        return asyncio.run(_run(config, endpoints, console))
