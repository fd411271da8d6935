"""The onboarding's status and next step, as plain functions of its fields."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from neobank.onboarding.flow import Application, next_step, overall_status, view

NOW = datetime(2026, 11, 24, 7, 0, tzinfo=UTC)
FRESH = Application(
    id="o1",
    status="in_progress",
    resident_id_masked="900101-1******",
    id_status="not_started",
    id_reason=None,
    id_card_issue_date=None,
    acct_status="not_started",
    acct_tries_left=5,
    acct_bank_code=None,
    acct_number=None,
    created_at=NOW,
    expires_at=NOW + timedelta(hours=1),
    customer_id=None,
    device_id=None,
    account_id=None,
)


def test_steps_in_order() -> None:
    assert next_step(FRESH, NOW) == "id_verification"
    pending = replace(FRESH, id_status="pending")
    assert next_step(pending, NOW) == "account_verification"
    both_pending = replace(pending, acct_status="pending")
    assert next_step(both_pending, NOW) == "wait"
    assert view(both_pending, NOW)["poll_after_ms"] > 0
    sent = replace(both_pending, acct_status="sent")
    assert next_step(sent, NOW) == "account_verification_confirm"
    ready = replace(sent, id_status="passed", acct_status="passed", status="ready")
    assert next_step(ready, NOW) == "complete"
    assert next_step(replace(ready, status="completed"), NOW) is None


def test_a_mistyped_issue_date_may_be_sent_again_but_a_stolen_card_ends_it() -> None:
    mistyped = replace(FRESH, id_status="failed", id_reason="invalid_issue_date")
    assert next_step(mistyped, NOW) == "id_verification"
    stolen = replace(FRESH, id_status="failed", id_reason="reported_stolen", status="failed")
    assert next_step(stolen, NOW) is None


def test_expiry_shows_as_a_status_of_its_own() -> None:
    later = NOW + timedelta(hours=2)
    assert overall_status(FRESH, later) == "expired"
    assert next_step(FRESH, later) is None
    done = replace(FRESH, status="completed")
    assert overall_status(done, later) == "completed"


def test_the_view_never_holds_more_than_the_masked_resident_id() -> None:
    out = view(FRESH, NOW)
    assert out["resident_id_masked"] == "900101-1******"
    assert "resident_id" not in out
    assert out["steps"]["account_verification"]["tries_left"] == 5
