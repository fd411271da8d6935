"""CPU a completed sign-up costs each process of a launch-day run (ms of CPU per sign-up).

Runs `neobank loadtest launch-day` (by default below the node's capacity, agencies not
limiting: 30 people/s for 60 s), reads every process's CPU time from /proc twice a second
while it runs (the last reading of each process counts: the embedded PostgreSQL's backends
come and go), groups them (API, job worker, PostgreSQL, Locust, agency simulators) and
divides by the sign-ups the run completed. Completions per second at saturation move by
5-10% between runs on a shared machine; CPU per sign-up below saturation moves by a few
percent, so compare builds with it, back to back. Linux only.

    .venv/bin/python bench/signup_cpu.py [--rate 30] [--duration-s 60] [--out DIR]
    PYTHONPATH=<other checkout>/src .venv/bin/python bench/signup_cpu.py   # another build
"""

from __future__ import annotations

import argparse
import json
import os
import pwd
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

POLL_INTERVAL_S = 0.5
# The embedded PostgreSQL runs as this user (pgserver); its backends' names say nothing else.
EMBEDDED_PG_USER = "pgserver"
_GROUPS = (
    ("cli.main serve", "API"),
    ("cli.main worker", "job worker"),
    ("agencies serve", "agency simulators"),
    ("locust", "Locust"),
)
BANK_GROUPS = ("API", "job worker", "PostgreSQL")


def _group(pid: str, pg_uid: int | None) -> str | None:
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        if pg_uid is not None and os.stat(f"/proc/{pid}").st_uid == pg_uid:
            return "PostgreSQL"
    except OSError:
        return None
    return next((name for needle, name in _GROUPS if needle in cmdline), None)


def _cpu_s(pid: str) -> float | None:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _embedded_pg_uid() -> int | None:
    try:
        return pwd.getpwnam(EMBEDDED_PG_USER).pw_uid
    except KeyError:
        return None


def run(args: argparse.Namespace) -> tuple[dict[str, float], int]:
    out = Path(args.out or tempfile.mkdtemp(prefix="signup-cpu-"))
    command = [
        *(sys.executable, "-m", "neobank.cli.main", "loadtest", "launch-day"),
        *("--unlimited", "--seed", str(args.seed), "--out", str(out)),
        *("--arrival-rate-per-s", str(args.rate), "--duration-s", str(args.duration_s)),
    ]
    last: dict[str, tuple[str, float]] = {}
    with subprocess.Popen(command) as launch_day:
        while launch_day.poll() is None:
            # Looked up while the run goes: on a fresh machine the embedded server creates
            # its user when it first starts (PostgreSQL's CPU read 0 before this).
            pg_uid = _embedded_pg_uid()
            for pid in filter(str.isdigit, os.listdir("/proc")):
                group = _group(pid, pg_uid)
                cpu_s = _cpu_s(pid) if group else None
                if group and cpu_s is not None:
                    last[pid] = (group, cpu_s)
            time.sleep(POLL_INTERVAL_S)
    if launch_day.returncode != 0:
        raise SystemExit(f"launch-day exited {launch_day.returncode}")
    totals: dict[str, float] = {}
    for group, cpu_s in last.values():
        totals[group] = totals.get(group, 0.0) + cpu_s
    report = json.loads((out / "launch-day.json").read_text())
    return totals, int(report["figures"]["completed"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rate", type=float, default=30.0, help="people arriving per second")
    parser.add_argument("--duration-s", type=float, default=60.0)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--out", help="the launch-day report's directory (default: a temp dir)")
    totals, completed = run(parser.parse_args())
    if completed == 0:
        raise SystemExit("no sign-up completed")
    table = Table(title=f"CPU per completed sign-up ({completed:,} completed)")
    table.add_column("process")
    table.add_column("ms CPU / sign-up", justify="right")
    for group in (*BANK_GROUPS, "Locust", "agency simulators"):
        table.add_row(group, f"{totals.get(group, 0.0) / completed * 1000:.2f}")
    bank_ms = sum(totals.get(g, 0.0) for g in BANK_GROUPS) / completed * 1000
    table.add_row("[bold]the bank (API + worker + PostgreSQL)", f"[bold]{bank_ms:.2f}")
    Console().print(table)


if __name__ == "__main__":
    main()
