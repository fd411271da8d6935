"""The `neobank` command line (typer)."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

import typer
from rich.console import Console

from neobank.cli.agencies import agencies_app
from neobank.cli.loadtest import loadtest_app
from neobank.config import ensure_admin_token, load_settings
from neobank.db.migrate import migrate as apply_migrations
from neobank.db.runtime import resolve_database_url
from neobank.observability.logging import configure_logging

app = typer.Typer(help="neobank: run an internet-only bank.", no_args_is_help=True)
ledger_app = typer.Typer(help="Ledger tools.", no_args_is_help=True)
app.add_typer(ledger_app, name="ledger")
app.add_typer(agencies_app, name="agencies")
app.add_typer(loadtest_app, name="loadtest")
console = Console(stderr=True)


def _prepare() -> str:
    """Start (or find) the database, migrate it, and print a newly generated ops token."""
    settings = load_settings()
    configure_logging(json=settings.log_json)
    with console.status("Starting the database and applying migrations..."):
        database_url = resolve_database_url(settings)
        apply_migrations(database_url)
    token, generated = ensure_admin_token(settings)
    if generated:
        console.print(
            f"[bold]Ops token[/bold] (generated, kept in {settings.data_dir}/admin_token): {token}"
        )
    return database_url


@app.command()
def serve(
    host: str = typer.Option("127.0.0.1", help="Interface to listen on."),
    port: int = typer.Option(8000, help="TCP port."),
    workers: int = typer.Option(1, min=1, max=64, help="API processes."),
    no_workers: bool = typer.Option(False, "--no-workers", help="Run no background jobs here."),
    demo: bool = typer.Option(False, "--demo", help="Seed demo data first (idempotent)."),
) -> None:
    """Run the API (and, unless --no-workers, the background workers in-process)."""
    import uvicorn

    database_url = _prepare()
    if demo:
        from neobank.cli.demo import seed_demo

        asyncio.run(seed_demo(database_url, console))
    # Child processes reach the same database without starting their own embedded server.
    os.environ["NEOBANK_DATABASE_URL"] = database_url
    os.environ["NEOBANK_RUN_WORKERS"] = "0" if no_workers else "1"
    if workers > 1:
        _share_metrics_between_workers()
    console.print(f"neobank listening on http://{host}:{port} (OpenAPI at /docs)")
    # uvicorn shuts down on SIGTERM, then raises the signal again with the handler that was
    # there before it: without one of ours the process dies there and the embedded
    # PostgreSQL, stopped by an exit handler, keeps running with nobody to stop it.
    signal.signal(signal.SIGTERM, _exit_after_shutdown)
    uvicorn.run(
        "neobank.api.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        loop="uvloop",
        http="httptools",
        log_level="warning",
        access_log=False,
    )


def _exit_after_shutdown(signum: int, frame: object) -> None:
    raise SystemExit(0)


def _share_metrics_between_workers() -> None:
    """Worker processes write their metrics to files that /metrics sums (prometheus_client's
    multiprocess mode); the directory is emptied at start so old processes do not count."""
    import shutil

    directory = load_settings().data_dir / "metrics"
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(directory)


@app.command()
def worker() -> None:
    """Run the background workers alone."""
    import uvloop

    from neobank.workers.standalone import run_workers

    database_url = _prepare()
    # The API process runs on uvloop (uvicorn's loop="uvloop"); so do the jobs. On asyncio's
    # own loop the agency checks' pipeline held a launch-day surge to 41.7 sign-ups/s, where
    # uvloop makes 46-49 (docs/BENCHMARKS.md, eighth session).
    uvloop.run(run_workers(database_url))


@app.command()
def migrate() -> None:
    """Apply database migrations (safe while other processes do the same)."""
    _prepare()
    console.print("[green]Database is at the latest migration.[/green]")


@app.command()
def demo() -> None:
    """Seed demo customers, accounts, money and a launch promotion (idempotent)."""
    from neobank.cli.demo import seed_demo

    database_url = _prepare()
    asyncio.run(seed_demo(database_url, console))


@ledger_app.command("check")
def ledger_check() -> None:
    """Recompute every balance from the journal; exit 1 if anything does not balance."""
    import orjson

    from neobank.db.pool import create_pool
    from neobank.ledger.check import check_ledger

    database_url = _prepare()

    async def run() -> dict[str, object]:
        pool = await create_pool(database_url, min_size=1, max_size=1)
        try:
            async with pool.acquire() as conn:
                return await check_ledger(conn)
        finally:
            await pool.close()

    with console.status("Recomputing balances from the journal..."):
        result = asyncio.run(run())
    sys.stdout.write(orjson.dumps(result, option=orjson.OPT_INDENT_2).decode() + "\n")
    raise typer.Exit(0 if result["balanced"] else 1)


@app.command()
def bench(
    duration_s: int = typer.Option(15, help="Seconds measured per workload (after 2 s warm-up)."),
    processes: str = typer.Option("1,2,4", help="API process counts to measure."),
    accounts: int = typer.Option(1000, help="Funded accounts the transfers move between."),
    out: Path = typer.Option(Path("bench/results"), help="Where bench.json and bench.png go."),
) -> None:
    """Measure the ledger over HTTP against pgbench TPC-B on the same server, in one run."""
    from neobank.benchmark.report import write_report
    from neobank.benchmark.runner import BenchConfig, default_server_url, run_benchmark

    configure_logging(json=False)
    data_dir = Path(os.environ.get("NEOBANK_DATA_DIR", ".neobank")).resolve() / "bench"
    config = BenchConfig(
        server_url=default_server_url(data_dir),
        data_dir=data_dir,
        duration_s=duration_s,
        accounts=accounts,
        api_processes=tuple(int(p) for p in processes.split(",")),
    )
    report = run_benchmark(config, console)
    write_report(report, out, Console(width=160))


if __name__ == "__main__":
    app()
