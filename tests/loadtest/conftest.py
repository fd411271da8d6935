"""The fake bank on a real socket (uvicorn in a thread), for the person and the Locust run."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn
from fastapi import FastAPI

from neobank.benchmark.processes import free_port

startup_timeout_s = 10.0


@contextmanager
def served(app: FastAPI) -> Iterator[str]:
    """``app`` listening on a free port; yields its base URL."""
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + startup_timeout_s
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "the fake bank did not start"
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=startup_timeout_s)
