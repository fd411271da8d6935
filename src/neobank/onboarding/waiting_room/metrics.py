"""The waiting room's Prometheus metrics. The queue, the slots and the limit are shared by every
process (Redis), so each process reports what it saw last and /metrics shows the most recent."""

from __future__ import annotations

from prometheus_client import Counter, Gauge

__all__ = ["ACTIVE", "ADMISSIONS", "LIMIT", "PROCESS_LIMIT", "REFUSED_FULL", "TICKETS", "WAITING"]

WAITING = Gauge(
    "neobank_waiting_room_waiting",
    "Tickets waiting in the queue",
    multiprocess_mode="livemostrecent",
)
ACTIVE = Gauge(
    "neobank_waiting_room_active",
    "Admitted sessions holding a slot",
    multiprocess_mode="livemostrecent",
)
LIMIT = Gauge(
    "neobank_waiting_room_limit",
    "Admitted sessions allowed at once (the adaptive concurrency limit, capped by the process's)",
    multiprocess_mode="livemostrecent",
)
PROCESS_LIMIT = Gauge(
    "neobank_waiting_room_process_limit",
    "This process's own cap on admitted sessions, from its onboarding requests' latency "
    "(-1: none yet)",
    multiprocess_mode="liveall",
)
ADMISSIONS = Counter("neobank_waiting_room_admissions_total", "Tickets admitted")
TICKETS = Counter("neobank_waiting_room_tickets_total", "Tickets taken")
REFUSED_FULL = Counter(
    "neobank_waiting_room_refused_total", "Tickets refused because the queue was full"
)
