"""Events: the transactional outbox every state change writes to."""

from neobank.events.outbox import EventRow, Outbox, write_events

__all__ = ["EventRow", "Outbox", "write_events"]
