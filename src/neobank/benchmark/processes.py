"""`neobank` subprocesses for the measuring tools (`neobank bench`, `neobank loadtest`): start
one in its own process group, wait until it answers, stop it with all its children."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

import httpx

__all__ = ["free_port", "start_neobank", "stop_process_group"]

START_TIMEOUT_S = 90.0
STOP_TIMEOUT_S = 30.0
READY_POLL_S = 0.2
READY_REQUEST_TIMEOUT_S = 1.0


def free_port() -> int:
    """A TCP port that nothing listens on now (the OS picks it)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def start_neobank(
    args: Sequence[str],
    *,
    env: Mapping[str, str],
    log_path: Path,
    ready_url: str,
    timeout_s: float = START_TIMEOUT_S,
) -> subprocess.Popen[bytes]:
    """Run `neobank <args>` (this interpreter), its output appended to `log_path`, and return
    once `ready_url` answers 200. Raises RuntimeError (naming the log) if it exits or stays
    unready for `timeout_s`."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "neobank.cli.main", *args],
            env=dict(env),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"neobank {args[0]} exited; see {log_path}")
        try:
            if httpx.get(ready_url, timeout=READY_REQUEST_TIMEOUT_S).status_code == 200:
                return process
        except httpx.HTTPError:
            pass
        time.sleep(READY_POLL_S)
    stop_process_group(process)
    raise RuntimeError(f"neobank {args[0]} was not ready within {timeout_s:.0f} s; see {log_path}")


def stop_process_group(process: subprocess.Popen[bytes], timeout_s: float = STOP_TIMEOUT_S) -> None:
    """SIGTERM the process's group (uvicorn's workers too), SIGKILL after `timeout_s`."""
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
