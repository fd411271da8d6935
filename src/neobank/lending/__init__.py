"""Lending: loan products, credit decisions, schedules and servicing (issue 5)."""

__all__: list[str] = []
