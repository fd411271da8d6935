"""The embedded PostgreSQL: a real server from the pip-installed `pgserver` package.

The server keeps its data under `<data dir>/pg` and listens on a Unix socket only. It stays up
while any process holding a handle lives; a process killed with SIGKILL leaves it running, and
the next start reuses it.
"""

from __future__ import annotations

import os
import subprocess
import warnings
from pathlib import Path
from typing import Any

from tenacity import Retrying, retry_if_exception_type, stop_after_attempt, wait_fixed

__all__ = ["start_embedded"]

START_ATTEMPTS_MAX = 4
_START_ERRORS = (subprocess.TimeoutExpired, subprocess.CalledProcessError, AssertionError)
_handles: dict[Path, Any] = {}


def start_embedded(data_dir: Path) -> str:
    """Start (or join) the embedded server and return a libpq URL for it."""
    pgdata = (data_dir / "pg").resolve()
    if pgdata in _handles:
        return str(_handles[pgdata].get_uri())
    pgdata.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("XDG_RUNTIME_DIR", str(Path("/tmp") / f"neobank-run-{os.getuid()}"))
    Path(os.environ["XDG_RUNTIME_DIR"]).mkdir(mode=0o700, parents=True, exist_ok=True)
    server = _start_with_retries(pgdata)
    _handles[pgdata] = server
    return str(server.get_uri())


def _start_with_retries(pgdata: Path) -> Any:
    """pgserver gives pg_ctl 10 s; a loaded machine can take longer. The server it started
    keeps starting, and the next attempt finds it running."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import pgserver

        for attempt in Retrying(
            retry=retry_if_exception_type(_START_ERRORS),
            stop=stop_after_attempt(START_ATTEMPTS_MAX),
            wait=wait_fixed(2),
            reraise=True,
        ):
            with attempt:
                return pgserver.get_server(pgdata, cleanup_mode="stop")  # type: ignore[attr-defined]
    raise AssertionError("unreachable")
