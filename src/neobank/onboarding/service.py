"""Onboarding use cases. Each runs in the caller's one transaction on a locked row; agency
calls never happen here: they are jobs deferred in the same transaction (``jobs.py``)."""

from __future__ import annotations

import hmac
import secrets
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import asyncpg

from neobank.b64 import b64url_encode
from neobank.customers.errors import DeviceKeyInUse
from neobank.customers.service import create_customer, decode_public_key, register_device
from neobank.db.statement import WriteStatement
from neobank.deposits.service import get_account, open_account
from neobank.events import EventRow, Outbox
from neobank.onboarding.errors import (
    AdmissionTokenUsed,
    AlreadyCustomer,
    BirthDateMismatch,
    InvalidResidentId,
    OnboardingClosed,
    OnboardingExpired,
    OnboardingNotFound,
    StepNotReady,
    VerificationCodeMismatch,
    VerificationFailed,
)
from neobank.onboarding.flow import ACCOUNT_CHECK_TRIES, Application, view
from neobank.onboarding.schemas import AccountCheckIn, OnboardingIn
from neobank.onboarding.sealing import Sealer
from neobank.resident_id import parse_resident_id
from neobank.workers.queue import defer_in_transaction

__all__ = [
    "NON_FACE_TO_FACE_DAILY_LIMIT_MINOR",
    "ONBOARDING_TTL",
    "Completion",
    "complete",
    "confirm_code",
    "load",
    "request_account_check",
    "request_id_check",
    "start",
    "verification_code",
]

ONBOARDING_TTL = timedelta(hours=1)
# Accounts opened without a visit start "limit-restricted" (한도제한계좌), as Korean banks do:
# at most 1,000,000 KRW out a day until the customer proves the account's purpose.
NON_FACE_TO_FACE_DAILY_LIMIT_MINOR = 1_000_000
DEPOSIT_PRODUCT = "demand_deposit"
CODE_SALT_BYTES = 16
# One job runs whatever agency checks of an onboarding are pending (both, when the person asks
# for the second before the first's job started: the usual case). A job per check cost a
# launch-day surge twice the queue work per sign-up. The one-check tasks stay registered for
# jobs queued by an earlier version.
CHECKS_TASK = "onboarding.run_agency_checks"
IDENTITY_TASK = "onboarding.verify_identity"
CLEARING_TASK = "onboarding.send_verification_credit"
CHECK_PENDING = "pending"
# Agency calls wait in a queue of their own, behind nothing else.
AGENCY_QUEUE = "agencies"


async def load(conn: asyncpg.Connection | asyncpg.Pool, onboarding_id: uuid.UUID) -> asyncpg.Record:
    row = await conn.fetchrow("SELECT * FROM onboardings WHERE id = $1", onboarding_id)
    if row is None:
        raise OnboardingNotFound()
    return row


async def _lock(conn: asyncpg.Connection, onboarding_id: uuid.UUID) -> asyncpg.Record:
    row = await conn.fetchrow("SELECT * FROM onboardings WHERE id = $1 FOR UPDATE", onboarding_id)
    if row is None:
        raise OnboardingNotFound()
    return row


def _open(row: asyncpg.Record, now: datetime) -> Application:
    """The application, if it may still take a step."""
    app = Application.from_row(row)
    if app.status in ("completed", "failed"):
        raise OnboardingClosed(f"this onboarding is {app.status}")
    if app.expired(now):
        raise OnboardingExpired()
    return app


# The columns a step changes (`_leave_update` writes them by name).
_STEP_COLUMNS = frozenset(
    {
        "status",
        "id_status",
        "id_reason",
        "id_card_issue_date",
        "id_requested_at",
        "acct_status",
        "acct_bank_code",
        "acct_number",
        "acct_code_salt",
        "acct_requested_at",
        "acct_tries_left",
        "customer_id",
        "device_id",
        "account_id",
    }
)


def _leave_update(
    outbox: Outbox, row: asyncpg.Record, now: datetime, **changes: Any
) -> Application:
    """Leave the locked row's update for the transaction's last statement (no round trip of
    its own) and return the application as that update leaves it: the row is locked, so
    what it will hold is known now."""
    assert changes.keys() <= _STEP_COLUMNS, changes.keys() - _STEP_COLUMNS
    changes["updated_at"] = now

    def write(statement: WriteStatement) -> None:
        p = statement.param
        columns = ", ".join(f"{name} = {p(value)}" for name, value in changes.items())
        statement.add(f"UPDATE onboardings SET {columns} WHERE id = {p(row['id'])}")

    outbox.leave(write)
    return Application.from_row({**dict(row), **changes})


def _event(outbox: Outbox, kind: str, app_id: str, body: dict[str, Any], now: datetime) -> None:
    outbox.add(EventRow(kind, "onboarding", app_id, body), now)


async def start(
    conn: asyncpg.Connection,
    outbox: Outbox,
    sealer: Sealer,
    ticket_id: str,
    body: OnboardingIn,
    now: datetime,
) -> dict[str, Any]:
    resident = parse_resident_id(body.resident_id)
    if resident is None:
        raise InvalidResidentId()
    if resident.birth_date != body.birth_date:
        raise BirthDateMismatch()
    public_key = decode_public_key(body.device_public_key)
    digest = sealer.digest(resident.digits)
    taken = await conn.fetchrow(
        """
        SELECT EXISTS (SELECT FROM onboardings
                       WHERE resident_id_digest = $1 AND status = 'completed') AS customer,
               EXISTS (SELECT FROM devices WHERE public_key = $2) AS device_key
        """,
        digest,
        public_key,
    )
    if taken["customer"]:
        raise AlreadyCustomer()
    if taken["device_key"]:
        raise DeviceKeyInUse()
    row = await conn.fetchrow(
        """
        INSERT INTO onboardings (id, ticket_id, status, name, birth_date, phone,
            resident_id_sealed, resident_id_digest, resident_id_masked, device_public_key,
            id_status, acct_status, acct_tries_left, created_at, updated_at, expires_at)
        VALUES ($1, $2, 'in_progress', $3, $4, $5, $6, $7, $8, $9,
            'not_started', 'not_started', $10, $11, $11, $12)
        ON CONFLICT (ticket_id) DO NOTHING
        RETURNING *
        """,
        uuid.uuid4(),
        ticket_id,
        body.name,
        body.birth_date,
        body.phone,
        sealer.seal(resident.digits),
        digest,
        resident.masked,
        public_key,
        ACCOUNT_CHECK_TRIES,
        now,
        now + ONBOARDING_TTL,
    )
    if row is None:
        raise AdmissionTokenUsed()
    out = view(Application.from_row(row), now)
    _event(outbox, "onboarding.started", out["id"], {"ticket_id": ticket_id, **out}, now)
    return out


async def request_id_check(
    conn: asyncpg.Connection,
    outbox: Outbox,
    onboarding_id: uuid.UUID,
    issue_date: date,
    now: datetime,
) -> dict[str, Any]:
    """Ask the identity agency, in the background. Asking again while it is pending or after
    it passed changes nothing (the step is idempotent)."""
    row = await _lock(conn, onboarding_id)
    app = _open(row, now)
    if not app.id_check_may_start():
        return view(app, now)
    await _defer_checks(conn, app, onboarding_id)
    updated = _leave_update(
        outbox,
        row,
        now,
        id_status="pending",
        id_reason=None,
        id_card_issue_date=issue_date,
        id_requested_at=now,
    )
    out = view(updated, now)
    _event(
        outbox,
        "onboarding.id_verification_requested",
        out["id"],
        {"issue_date": str(issue_date)},
        now,
    )
    return out


async def _defer_checks(
    conn: asyncpg.Connection, app: Application, onboarding_id: uuid.UUID
) -> None:
    """Queue the agency checks job unless one is in charge already: while a check is pending,
    its job has not recorded its result yet, and it reads the onboarding again after it has
    (row lock order: this step commits first), so it takes this step too. Jobs of one
    onboarding share a `lock`: a second one waits for the first, never sends a check twice."""
    if CHECK_PENDING in (app.id_status, app.acct_status):
        return
    await defer_in_transaction(
        conn,
        CHECKS_TASK,
        {"onboarding_id": str(onboarding_id)},
        lock=f"checks:{onboarding_id}",
        queue=AGENCY_QUEUE,
    )


def verification_code(sealer: Sealer, onboarding_id: uuid.UUID, salt: bytes) -> str:
    """The 4-digit code of one account check, derived rather than stored: nothing at rest (nor
    in the job's arguments) reveals it to someone without the bank's key."""
    digest = sealer.digest(f"{onboarding_id}|{salt.hex()}", context="account_check_code")
    return f"{int.from_bytes(digest[:8], 'big') % 10_000:04d}"


async def request_account_check(
    conn: asyncpg.Connection,
    outbox: Outbox,
    onboarding_id: uuid.UUID,
    body: AccountCheckIn,
    now: datetime,
) -> dict[str, Any]:
    row = await _lock(conn, onboarding_id)
    app = _open(row, now)
    if app.acct_status != "not_started":
        if (app.acct_bank_code, app.acct_number) != (body.bank_code, body.account_number):
            raise StepNotReady("an account check for another account is already under way")
        return view(app, now)
    await _defer_checks(conn, app, onboarding_id)
    updated = _leave_update(
        outbox,
        row,
        now,
        acct_status="pending",
        acct_bank_code=body.bank_code,
        acct_number=body.account_number,
        acct_code_salt=secrets.token_bytes(CODE_SALT_BYTES),
        acct_requested_at=now,
    )
    out = view(updated, now)
    _event(
        outbox,
        "onboarding.account_verification_requested",
        out["id"],
        {"bank_code": body.bank_code},
        now,
    )
    return out


async def confirm_code(
    conn: asyncpg.Connection,
    outbox: Outbox,
    sealer: Sealer,
    onboarding_id: uuid.UUID,
    code: str,
    now: datetime,
) -> tuple[dict[str, Any], VerificationCodeMismatch | VerificationFailed | None]:
    """Check the typed code. A wrong code is *recorded* (one try fewer), so the caller commits
    and then answers the returned error."""
    row = await _lock(conn, onboarding_id)
    app = _open(row, now)
    if app.acct_status == "passed":
        return view(app, now), None
    if app.acct_status != "sent":
        raise StepNotReady("the 1 KRW credit has not been sent yet")
    salt: bytes = row["acct_code_salt"]
    if hmac.compare_digest(verification_code(sealer, onboarding_id, salt), code):
        return _account_passed(outbox, row, now), None
    tries_left = app.acct_tries_left - 1
    failed = tries_left == 0
    ended = {"acct_status": "failed", "status": "failed"} if failed else {}
    out = view(_leave_update(outbox, row, now, acct_tries_left=tries_left, **ended), now)
    kind = "onboarding.failed" if failed else "onboarding.account_verification_mismatch"
    _event(outbox, kind, out["id"], {"tries_left": tries_left, "step": "account_verification"}, now)
    if failed:
        return out, VerificationFailed()
    return out, VerificationCodeMismatch(tries_left=tries_left)


def _account_passed(outbox: Outbox, row: asyncpg.Record, now: datetime) -> dict[str, Any]:
    both_passed = row["id_status"] == "passed"
    status = "ready" if both_passed else row["status"]
    out = view(_leave_update(outbox, row, now, acct_status="passed", status=status), now)
    _event(outbox, "onboarding.account_verified", out["id"], {}, now)
    return out


@dataclass(frozen=True)
class Completion:
    """A completed onboarding's answer, and the waiting-room ticket it frees."""

    out: dict[str, Any]
    ticket_id: str


async def complete(
    conn: asyncpg.Connection, outbox: Outbox, onboarding_id: uuid.UUID, now: datetime
) -> Completion:
    """Open everything at once: the customer, the device and the account, in this one
    transaction; a completed onboarding answers the same again."""
    row = await _lock(conn, onboarding_id)
    if row["status"] == "completed":
        return Completion(await _completed_out(conn, row), row["ticket_id"])
    if _open(row, now).status != "ready":
        raise StepNotReady("both checks must pass first")
    if await conn.fetchval(
        "SELECT 1 FROM onboardings WHERE resident_id_digest = $1 AND status = 'completed'",
        row["resident_id_digest"],
    ):
        raise AlreadyCustomer()
    customer = await create_customer(conn, outbox, row["name"], row["birth_date"], row["phone"])
    customer_id = uuid.UUID(customer["id"])
    device = await register_device(
        conn, outbox, customer_id, b64url_encode(row["device_public_key"])
    )
    account = await open_account(
        conn,
        outbox,
        customer_id,
        DEPOSIT_PRODUCT,
        daily_debit_limit_minor=NON_FACE_TO_FACE_DAILY_LIMIT_MINOR,
    )
    _leave_update(
        outbox,
        row,
        now,
        status="completed",
        customer_id=customer_id,
        device_id=uuid.UUID(device["device_id"]),
        account_id=uuid.UUID(account["id"]),
    )
    out = {"customer_id": customer["id"], "device_id": device["device_id"], "account": account}
    _event(
        outbox,
        "onboarding.completed",
        str(onboarding_id),
        {
            **out,
            "daily_debit_limit": NON_FACE_TO_FACE_DAILY_LIMIT_MINOR,
            "duration_s": (now - row["created_at"]).total_seconds(),
        },
        now,
    )
    return Completion(out, row["ticket_id"])


async def _completed_out(conn: asyncpg.Connection, row: asyncpg.Record) -> dict[str, Any]:
    account = await get_account(conn, row["account_id"])
    return {
        "customer_id": str(row["customer_id"]),
        "device_id": str(row["device_id"]),
        "account": account,
    }
