"""`neobank loadtest launch-day`: a sign-up surge driven by Locust against a real bank, and its
report. ``runner`` starts what it needs and runs the surge, ``locustfile`` is imported only
by the Locust subprocess (gevent), ``person`` is one person's sign-up, ``analysis`` and
``report`` turn the records into figures, plots and the targets table."""

from __future__ import annotations

from neobank.loadtest.config import LaunchDayConfig

__all__ = ["LaunchDayConfig"]
