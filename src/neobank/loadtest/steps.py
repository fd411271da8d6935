"""What a person does next, read from the onboarding as the bank answers it (API.md: overall
``status`` and each step's ``status``). Plain function, so the rules are tested alone."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["next_action"]


def _status(steps: Mapping[str, Any], step: str) -> str | None:
    value = steps.get(step)
    return str(value.get("status")) if isinstance(value, Mapping) else None


def next_action(document: Mapping[str, Any]) -> str:
    """``done``, ``failed: <why>``, ``wait`` (poll), or the step to send: ``id_verification``,
    ``account_verification``, ``confirm`` (once the identity check passed and the 1 KRW was
    sent, as the person types the code after both) or ``complete``."""
    status = document.get("status")
    if status == "completed":
        return "done"
    if status in ("failed", "expired"):
        return f"failed: onboarding {status}"
    steps = document.get("steps") or {}
    identity = _status(steps, "id_verification")
    account = _status(steps, "account_verification")
    for step, state in (("id_verification", identity), ("account_verification", account)):
        if state == "failed":
            reason = steps[step].get("reason")
            return f"failed: {step} failed{f' ({reason})' if reason else ''}"
    if status == "ready" or (identity == "passed" and account == "passed"):
        return "complete"
    if identity == "not_started":
        return "id_verification"
    if account == "not_started":
        return "account_verification"
    if identity == "passed" and account == "sent":
        return "confirm"
    return "wait"
