"""The whole launch day: start the agency simulators and the bank (or use running ones), set
the agencies' knobs, run the surge in a Locust subprocess while sampling once a second, stop
everything, and turn the records into figures."""

from __future__ import annotations

import importlib.metadata
import os
import platform
import secrets
import shutil
import subprocess
import sys
import time
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path

import httpx
from rich.console import Console

from neobank.benchmark.processes import stop_process_group
from neobank.loadtest.analysis import analyse
from neobank.loadtest.config import LaunchDayConfig
from neobank.loadtest.identities import people_per_run_max
from neobank.loadtest.plan import SurgePlan
from neobank.loadtest.progress import watch_surge
from neobank.loadtest.records import read_records
from neobank.loadtest.report import LaunchDayReport
from neobank.loadtest.sampler import FinishedCounter, Sampler
from neobank.loadtest.services import Endpoints, start_services

__all__ = ["LOCUSTFILE", "run_launch_day"]

LOCUSTFILE = Path(__file__).with_name("locustfile.py")
bank_start_timeout_s = 180.0
agencies_start_timeout_s = 30.0
# Locust's own clock stops the run this long after the drain timeout, as a safety net.
locust_grace_s = 60.0
locust_stop_timeout_s = 30.0
request_timeout_s = 10.0
postgres_stop_timeout_s = 30.0
postgres_stop_poll_s = 0.1


def _endpoints(config: LaunchDayConfig, raw_dir: Path, stack: ExitStack) -> Endpoints:
    if config.bank_url is None:
        return start_services(
            raw_dir,
            stack,
            seed=config.seed,
            admin_token=config.admin_token,
            database_url=config.database_url,
            workers=config.workers,
            job_processes=config.job_processes,
        )
    token = config.admin_token or os.environ.get("NEOBANK_ADMIN_TOKEN")
    if not token:
        raise RuntimeError("with --bank-url, give the bank's ops token (NEOBANK_ADMIN_TOKEN)")
    # A bank without NEOBANK_AGENCIES_URL runs the simulators in-process under /_agencies.
    agencies_url = config.agencies_url or config.bank_url.rstrip("/") + "/_agencies"
    return Endpoints(config.bank_url, agencies_url, token)


def _start_locust(
    config: LaunchDayConfig, endpoints: Endpoints, plan: SurgePlan, raw_dir: Path
) -> subprocess.Popen[bytes]:
    run_time_s = round(config.duration_s + config.drain_timeout_s + locust_grace_s)
    command = [
        sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--headless",
        "--host", endpoints.bank_url, "--users", "1", "--spawn-rate", "1",
        "--run-time", f"{run_time_s}s", "--stop-timeout", str(round(locust_stop_timeout_s)),
        "--exit-code-on-error", "0", "--only-summary", "--loglevel", "WARNING",
        "--logfile", str(raw_dir / "locust.log"), "--csv", str(raw_dir / "locust"),
        "--html", str(raw_dir / "locust.html"),
    ]  # fmt: skip
    with (raw_dir / "locust.out").open("ab") as out:
        return subprocess.Popen(
            command,
            env={**os.environ, **plan.to_env()},
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def _machine() -> dict[str, object]:
    return {
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "locust": importlib.metadata.version("locust"),
    }


def run_launch_day(config: LaunchDayConfig, console: Console) -> LaunchDayReport:
    raw_dir = config.out_dir / "raw"
    records_dir = raw_dir / "records"
    shutil.rmtree(records_dir, ignore_errors=True)
    records_dir.mkdir(parents=True)
    started_at = datetime.now(UTC).isoformat()
    notes: list[str] = []
    with ExitStack() as stack:
        with console.status("Starting the agency simulators and the bank..."):
            endpoints = _endpoints(config, raw_dir, stack)
        with httpx.Client(base_url=endpoints.agencies_url, timeout=request_timeout_s) as agencies:
            agencies.put("/_sim/config", json=config.simulator_patch()).raise_for_status()
            with httpx.Client(base_url=endpoints.bank_url, timeout=request_timeout_s) as bank:
                sampler = Sampler(bank, agencies, endpoints.ops_token, FinishedCounter(records_dir))
                sampler.sample_once()  # the counters before the first arrival
                plan = SurgePlan(
                    agencies_url=endpoints.agencies_url,
                    records_dir=records_dir,
                    arrival_rate_per_s=config.arrival_rate_per_s,
                    duration_s=config.duration_s,
                    drain_timeout_s=config.drain_timeout_s,
                    run_salt=secrets.randbelow(people_per_run_max),
                    poisson=config.poisson,
                    seed=config.seed,
                )
                sampler.start()
                locust = _start_locust(config, endpoints, plan, raw_dir)
                stack.callback(stop_process_group, locust, locust_stop_timeout_s)
                deadline = time.monotonic() + config.duration_s + config.drain_timeout_s
                deadline += 2 * locust_grace_s
                try:
                    watch_surge(locust, sampler, plan.expected_arrivals, deadline, console)
                finally:
                    sampler.stop()
    if locust.returncode != 0:
        notes.append(f"Locust exited with {locust.returncode}; see {raw_dir / 'locust.log'}")
    records = read_records(records_dir.glob("records-*.jsonl"))
    if not records:
        raise RuntimeError(f"no person was recorded; see {raw_dir}/locust.log and locust.out")
    figures = analyse(records, sampler.samples)
    if sampler.failed_reads:
        notes.append(f"{sampler.failed_reads} once-a-second reads of the bank or agencies failed")
    if config.workers > 1 and not os.environ.get("NEOBANK_REDIS_URL"):
        notes.append("several API processes without NEOBANK_REDIS_URL: one queue per process")
    if not config.identity_limiting and (
        figures.completion_rate_per_s >= 0.9 * config.arrival_rate_per_s
    ):
        notes.append(
            "completions kept up with arrivals: the node can do more than measured; "
            "raise --arrival-rate-per-s to find its capacity"
        )
    return LaunchDayReport(config, figures, _machine(), started_at, notes)
