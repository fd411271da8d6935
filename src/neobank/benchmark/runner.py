"""The whole benchmark: the pgbench reference, then each workload against `neobank serve`
with 1, 2 and 4 API processes, a ledger check after each, and the report."""

from __future__ import annotations

import asyncio
import os
import platform
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
from rich.console import Console
from rich.progress import Progress

from neobank.benchmark.load import LoadSpec, run_load
from neobank.benchmark.pgbench import PgbenchResult, run_pgbench
from neobank.benchmark.server import BenchServer, prepare_accounts
from neobank.benchmark.stats import RunFigures
from neobank.db.migrate import migrate
from neobank.db.urls import asyncpg_url

__all__ = ["BenchConfig", "recreate_database", "run_benchmark", "settle"]

BENCH_TOKEN = "bench-ops-token"
PGBENCH_CLIENTS = (16, 64)
SWEEP_FRACTIONS = (0.25, 0.5, 0.75, 1.0, 1.25)


@dataclass(frozen=True)
class BenchConfig:
    server_url: str
    data_dir: Path
    duration_s: int = 15
    accounts: int = 1000
    api_processes: tuple[int, ...] = (1, 2, 4)
    client_processes: int = 2
    port: int = 8300
    fee_waive_percent: int = 100


@dataclass
class BenchReport:
    machine: dict[str, Any]
    config: dict[str, Any]
    pgbench: list[PgbenchResult] = field(default_factory=list)
    runs: list[RunFigures] = field(default_factory=list)
    ledger_checks: list[dict[str, Any]] = field(default_factory=list)

    @property
    def pgbench_tps(self) -> float:
        return max(r.tps for r in self.pgbench)

    def best(self, workload: str, processes: int | None = None) -> float:
        figures = [
            r.transfers_per_s
            for r in self.runs
            if r.workload == workload and (processes is None or r.api_processes == processes)
        ]
        return max(figures, default=0.0)


def _with_database(url: str, name: str) -> str:
    from urllib.parse import urlsplit, urlunsplit

    return urlunsplit(urlsplit(url)._replace(path=f"/{name}"))


async def recreate_database(server_url: str, name: str) -> str:
    """Drop and create database `name` on the server of `server_url`; returns its URL."""
    conn = await asyncpg.connect(asyncpg_url(server_url))
    try:
        await conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        await conn.execute(f"CREATE DATABASE {name}")
    finally:
        await conn.close()
    return _with_database(server_url, name)


async def settle(database_url: str) -> None:
    """Let the database catch up on what the last workload left it (as pgbench vacuums
    before it runs): vacuum and analyze the tables, then a checkpoint. Measured before this:
    single transfers at half of peak had p99 47 ms right after the hot-account batches' 190k
    transfers, and 25 ms at the same rate a minute later (2026-11-25)."""
    conn = await asyncpg.connect(asyncpg_url(database_url))
    try:
        await conn.execute("VACUUM (ANALYZE)")
        await conn.execute("CHECKPOINT")
    finally:
        await conn.close()


def _machine() -> dict[str, Any]:
    return {
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
    }


def run_benchmark(config: BenchConfig, console: Console) -> BenchReport:
    report = BenchReport(
        machine=_machine(), config={**config.__dict__, "data_dir": str(config.data_dir)}
    )
    config.data_dir.mkdir(parents=True, exist_ok=True)
    with Progress(console=console) as progress:
        task = progress.add_task("pgbench TPC-B (reference)", total=len(PGBENCH_CLIENTS))
        pgbench_url = asyncio.run(recreate_database(config.server_url, "neobank_bench_pgbench"))
        for clients in PGBENCH_CLIENTS:
            report.pgbench.append(run_pgbench(pgbench_url, clients, config.duration_s))
            progress.advance(task)
        for processes in config.api_processes:
            _bench_processes(config, report, processes, progress)
    return report


def _bench_processes(
    config: BenchConfig, report: BenchReport, processes: int, progress: Progress
) -> None:
    full = processes == config.api_processes[0]
    steps = 3 + (len(SWEEP_FRACTIONS) + 1 if full else 0)
    task = progress.add_task(f"neobank, {processes} API process(es)", total=steps)
    database_url = asyncio.run(recreate_database(config.server_url, "neobank_bench"))
    migrate(database_url)
    with BenchServer(database_url, config.data_dir, BENCH_TOKEN, config.port, processes) as server:
        accounts = tuple(prepare_accounts(server, config.accounts, config.fee_waive_percent))
        progress.advance(task)

        def measure(workload: str, **overrides: Any) -> RunFigures:
            asyncio.run(settle(database_url))
            kind = "batch" if workload.startswith("batch") else "single"
            spec = LoadSpec(
                base_url=server.base_url,
                token=BENCH_TOKEN,
                accounts=accounts,
                kind=kind,
                connections=overrides.pop("connections"),
                duration_s=config.duration_s,
                **overrides,
            )
            result = run_load(spec, config.client_processes)
            figures = RunFigures.of(workload, processes, result, spec.rate_per_s)
            report.runs.append(figures)
            progress.advance(task)
            return figures

        measure("batch", connections=4)
        peak = measure("single", connections=64)
        if full:
            measure("batch_hot", connections=4, hot_account=accounts[0])
            measure("single_half_peak", connections=64, rate_per_s=peak.requests_per_s / 2)
            for fraction in SWEEP_FRACTIONS:
                measure(
                    f"sweep_{fraction:.2f}",
                    connections=64,
                    rate_per_s=peak.requests_per_s * fraction,
                )
        check = server.ledger_check()
        report.ledger_checks.append({"api_processes": processes, **check})
        progress.advance(task)
        if not check["balanced"]:
            raise RuntimeError(f"the ledger does not balance after the run: {check}")


def default_server_url(data_dir: Path) -> str:
    """NEOBANK_DATABASE_URL's server, or a fresh embedded one under the bench data dir."""
    configured = os.environ.get("NEOBANK_DATABASE_URL")
    if configured:
        return configured
    from neobank.db.embedded import start_embedded

    shutil.rmtree(data_dir / "pg", ignore_errors=True)
    return start_embedded(data_dir)
