"""Events: the transactional outbox every state change writes to."""

from neobank.events.outbox import EventRow, write_events

__all__ = ["EventRow", "write_events"]
