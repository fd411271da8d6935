"""`neobank loadtest ...`: load tests against a real bank (Locust runs as a subprocess)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import typer
from rich.console import Console

loadtest_app = typer.Typer(help="Load tests against a real bank.", no_args_is_help=True)
console = Console(stderr=True)


def _default_out() -> Path:
    return Path("docs/benchmarks") / f"launch-day-{datetime.now(UTC):%Y%m%d-%H%M%S}"


@loadtest_app.command("launch-day")
def launch_day(
    arrival_rate_per_s: float = typer.Option(100.0, min=0.1, help="People arriving per second."),
    duration_s: float = typer.Option(60.0, min=1, help="Seconds during which people arrive."),
    identity_capacity_rps: float = typer.Option(
        50.0, min=0.1, help="The identity agency's capacity (429 beyond it)."
    ),
    identity_latency_ms: float = typer.Option(300.0, min=0, help="Its mean latency."),
    identity_error_rate: float = typer.Option(0.02, min=0, max=1, help="Its share of 503s."),
    unlimited: bool = typer.Option(
        False,
        "--unlimited",
        help="Agencies do not limit (identity and clearing: no capacity cap, no errors); "
        "reports the sign-ups one node completes per hour.",
    ),
    workers: int = typer.Option(1, min=1, max=64, help="API processes of the bank started."),
    job_processes: int = typer.Option(
        1,
        min=0,
        max=16,
        help="Run the background jobs in this many `neobank worker` processes (0: inside the "
        "API processes).",
    ),
    drain_timeout_s: float = typer.Option(
        600.0, min=1, help="After the last arrival, how long to wait for everyone to finish."
    ),
    database_url: str | None = typer.Option(
        None, help="PostgreSQL for the bank started (default: a fresh embedded one)."
    ),
    bank_url: str | None = typer.Option(
        None, help="Use this running bank instead of starting one (give its ops token)."
    ),
    agencies_url: str | None = typer.Option(
        None, help="With --bank-url: its agencies (default: <bank-url>/_agencies)."
    ),
    admin_token: str | None = typer.Option(
        None, envvar="NEOBANK_ADMIN_TOKEN", help="The bank's ops token (reads the queue)."
    ),
    poisson: bool = typer.Option(False, "--poisson", help="Poisson arrivals (default: even)."),
    seed: int | None = typer.Option(None, help="Seed for the simulators and Poisson arrivals."),
    out: Path | None = typer.Option(
        None, help="Report directory (default: docs/benchmarks/launch-day-<UTC time>)."
    ),
    check: bool = typer.Option(False, "--check", help="Exit 1 when a target is missed."),
) -> None:
    """A launch-day sign-up surge: people arrive at a steady rate, queue in the waiting room
    and sign up end to end (Locust, headless); writes launch-day.json and launch-day.png."""
    from neobank.loadtest.config import LaunchDayConfig
    from neobank.loadtest.report import targets, write_report
    from neobank.loadtest.runner import run_launch_day
    from neobank.observability.logging import configure_logging

    configure_logging(json=False)
    config = LaunchDayConfig(
        out_dir=(out or _default_out()).resolve(),
        arrival_rate_per_s=arrival_rate_per_s,
        duration_s=duration_s,
        identity_capacity_rps=identity_capacity_rps,
        identity_latency_ms=identity_latency_ms,
        identity_error_rate=identity_error_rate,
        unlimited=unlimited,
        workers=workers,
        job_processes=job_processes,
        drain_timeout_s=drain_timeout_s,
        database_url=database_url,
        bank_url=bank_url,
        agencies_url=agencies_url,
        admin_token=admin_token,
        poisson=poisson,
        seed=seed,
    )
    report = run_launch_day(config, console)
    write_report(report, config.out_dir, Console(width=160))
    if check and not all(met for _, _, met in targets(report)):
        raise typer.Exit(1)


@loadtest_app.command("loans")
def loans(
    applications: int = typer.Option(3_000, min=1, help="Loan applications submitted."),
    arrival_rate_per_s: float = typer.Option(60.0, min=0.1, help="Applications per second."),
    bureau_capacity_rps: float = typer.Option(
        40.0, min=0.1, help="The credit bureau's capacity (429 beyond it)."
    ),
    bureau_latency_ms: float = typer.Option(400.0, min=0, help="Its mean latency."),
    bureau_error_rate: float = typer.Option(0.15, min=0, max=1, help="Its share of 503s."),
    workers: int = typer.Option(1, min=1, max=64, help="API processes of the bank started."),
    drain_timeout_s: float = typer.Option(
        600.0, min=1, help="After the last submission, how long to wait for every decision."
    ),
    database_url: str | None = typer.Option(
        None, help="PostgreSQL for the bank started (default: a fresh embedded one)."
    ),
    seed: int | None = typer.Option(None, help="Seed for the simulators."),
    out: Path | None = typer.Option(
        None, help="Report directory (default: docs/benchmarks/loans-<UTC time>)."
    ),
    check: bool = typer.Option(False, "--check", help="Exit 1 when a target is missed."),
) -> None:
    """Loan applications while the credit bureau is slow, flaky and capped: submission
    latency, decisions per second against the bureau's capacity, one hard inquiry per
    application; writes loans.json and loans.png."""
    from neobank.loadtest.lending import LoansConfig, run_loans
    from neobank.loadtest.lending_report import targets, write_loans_report
    from neobank.observability.logging import configure_logging

    configure_logging(json=False)
    config = LoansConfig(
        out_dir=(
            out or Path("docs/benchmarks") / f"loans-{datetime.now(UTC):%Y%m%d-%H%M%S}"
        ).resolve(),
        applications=applications,
        arrival_rate_per_s=arrival_rate_per_s,
        bureau_capacity_rps=bureau_capacity_rps,
        bureau_latency_ms=bureau_latency_ms,
        bureau_error_rate=bureau_error_rate,
        workers=workers,
        drain_timeout_s=drain_timeout_s,
        database_url=database_url,
        seed=seed,
    )
    run = run_loans(config, console)
    found = write_loans_report(run, Console(width=160))
    if check and not all(met for _, _, met in targets(found)):
        raise typer.Exit(1)
