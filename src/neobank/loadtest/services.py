"""The processes a load test runs against: the agency simulators and a bank on free ports,
with a fresh data dir (and so a fresh embedded PostgreSQL), stopped and removed afterwards."""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

from neobank.benchmark.processes import free_port, start_neobank, stop_process_group

__all__ = ["Endpoints", "start_services"]

bank_start_timeout_s = 180.0
agencies_start_timeout_s = 30.0
postgres_stop_timeout_s = 30.0
postgres_stop_poll_s = 0.1


class Endpoints:
    """Where the bank and the agencies answer, and the bank's ops token."""

    def __init__(self, bank_url: str, agencies_url: str, ops_token: str) -> None:
        self.bank_url = bank_url.rstrip("/")
        self.agencies_url = agencies_url.rstrip("/")
        self.ops_token = ops_token


def _stop_embedded_postgres(data_dir: Path) -> None:
    """Stop the embedded PostgreSQL that `neobank serve` started under ``data_dir``.

    serve would stop it from its exit handlers, but uvicorn re-raises the SIGTERM it caught once
    its graceful shutdown is done, so the process dies before they run and the server stays up.
    A fast shutdown (SIGINT) by the pid in postmaster.pid, then wait for it to go."""
    try:
        pid = int((data_dir / "pg" / "postmaster.pid").read_text().split()[0])
        os.kill(pid, signal.SIGINT)
    except (OSError, ValueError, IndexError):
        return  # never started, or already stopped
    deadline = time.monotonic() + postgres_stop_timeout_s
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(postgres_stop_poll_s)


def start_services(
    raw_dir: Path,
    stack: ExitStack,
    *,
    seed: int | None,
    admin_token: str | None,
    database_url: str | None,
    workers: int,
    job_processes: int = 0,
) -> Endpoints:
    """`neobank agencies serve` and `neobank serve` on free ports, the bank with a fresh data
    dir (so a fresh embedded PostgreSQL unless `database_url`), all stopped and removed when
    `stack` closes. Logs go to `raw_dir` (agencies.log, serve.log, worker-N.log).

    With `job_processes` > 0 the background jobs run in that many `neobank worker`
    processes instead of inside the API processes (`serve --no-workers`)."""
    data_dir = Path(tempfile.mkdtemp(prefix="neobank-loadtest-"))
    stack.callback(shutil.rmtree, data_dir, ignore_errors=True)
    if not database_url:
        stack.callback(_stop_embedded_postgres, data_dir)  # after the bank stopped
    agencies_port = free_port()
    agencies_url = f"http://127.0.0.1:{agencies_port}"
    seed_args = [] if seed is None else ["--seed", str(seed)]
    agencies = start_neobank(
        ["agencies", "serve", "--port", str(agencies_port), *seed_args],
        env=os.environ,
        log_path=raw_dir / "agencies.log",
        ready_url=agencies_url + "/_sim/stats",
        timeout_s=agencies_start_timeout_s,
    )
    stack.callback(stop_process_group, agencies)
    token = admin_token or secrets.token_urlsafe(24)
    env = {
        **os.environ,
        "NEOBANK_DATA_DIR": str(data_dir),
        "NEOBANK_ADMIN_TOKEN": token,
        "NEOBANK_AGENCIES_URL": agencies_url,
    }
    env.pop("NEOBANK_DATABASE_URL", None)
    if database_url:
        env["NEOBANK_DATABASE_URL"] = database_url
    bank_port = free_port()
    bank_url = f"http://127.0.0.1:{bank_port}"
    apart = ["--no-workers"] if job_processes else []
    bank = start_neobank(
        ["serve", "--port", str(bank_port), "--workers", str(workers), *apart],
        env=env,
        log_path=raw_dir / "serve.log",
        ready_url=bank_url + "/readyz",
        timeout_s=bank_start_timeout_s,
    )
    stack.callback(stop_process_group, bank)
    for n in range(job_processes):
        stack.callback(stop_process_group, _start_job_process(env, raw_dir / f"worker-{n}.log"))
    return Endpoints(bank_url, agencies_url, token)


def _start_job_process(env: dict[str, str], log_path: Path) -> subprocess.Popen[bytes]:
    """`neobank worker` (it has no HTTP port to wait for: it works once the queue is there,
    which `serve` has migrated already)."""
    with log_path.open("ab") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "neobank.cli.main", "worker"],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
