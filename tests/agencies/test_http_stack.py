"""The agency clients' HTTP stack (httpx over httpcore) finds the running event loop without a
failed import per call: httpcore imports sniffio in every lock it sets up, and a missing sniffio
(anyio no longer installs it) cost ~40 us a time, 4% of a launch-day job process."""

from __future__ import annotations

import sys

from httpcore._synchronization import current_async_library


async def test_httpcore_detects_asyncio_from_an_installed_sniffio() -> None:
    assert current_async_library() == "asyncio"
    # Imported once, so each later call's import is a dictionary lookup, not a path search.
    assert "sniffio" in sys.modules, "sniffio is missing: httpcore searches for it every call"
