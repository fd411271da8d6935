"""PostgreSQL's own TPC-B (pgbench) against the server the bank uses: the reference run."""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

__all__ = ["PgbenchResult", "pgbench_binary", "run_pgbench"]

PGBENCH_SCALE = 10
PGBENCH_THREADS = 2


@dataclass(frozen=True)
class PgbenchResult:
    clients: int
    tps: float
    latency_avg_ms: float


def pgbench_binary() -> str:
    """pgbench shipped with the embedded server's package, else the one on PATH."""
    import pgserver

    bundled = Path(pgserver.__file__).parent / "pginstall" / "bin" / "pgbench"
    if bundled.exists():
        return str(bundled)
    found = shutil.which("pgbench")
    if found is None:
        raise RuntimeError("pgbench not found: install pgserver or PostgreSQL's client tools")
    return found


def _run(args: list[str], timeout_s: float) -> str:
    done = subprocess.run(args, capture_output=True, text=True, timeout=timeout_s, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"pgbench failed: {done.stderr[-2000:]}")
    return done.stdout + done.stderr


def run_pgbench(database_url: str, clients: int, duration_s: int) -> PgbenchResult:
    """Initialise a TPC-B data set (scale 10) and run it: one small transaction per
    'transfer', fsync'd, synchronous commit as the server is configured."""
    binary = pgbench_binary()
    _run([binary, "-i", "-s", str(PGBENCH_SCALE), "-q", database_url], timeout_s=300)
    output = _run(
        [
            binary,
            "-c",
            str(clients),
            "-j",
            str(PGBENCH_THREADS),
            "-T",
            str(duration_s),
            database_url,
        ],
        timeout_s=duration_s + 120,
    )
    tps = re.search(r"tps = ([0-9.]+)", output)
    latency = re.search(r"latency average = ([0-9.]+) ms", output)
    if tps is None or latency is None:
        raise RuntimeError(f"could not read pgbench's output: {output[-2000:]}")
    return PgbenchResult(clients, float(tps.group(1)), float(latency.group(1)))
