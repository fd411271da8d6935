"""The one event of a batch of transfers (`POST /v1/transfers/batch`).

A single transfer writes `transfer.posted` or `transfer.rejected`. A batch of up to 8190 writes
one `transfer.batch_applied` event instead: its items as rows under named columns, the posted
ones and those the ledger refused (with the refusal's code). Same facts, one row: an event a
transfer cost PostgreSQL as much as the transfer itself (a ~400-byte jsonb row and its index
entries, 19 µs of the 48 µs a batched transfer cost in `bench/write_parts.py`). Items refused
before the ledger (unknown account, wrong currency, same account) appear only in the answer,
as for single transfers.

Payload: `{"kind", "created_at", "columns", "posted": [[...], ...], "rejected_columns",
"rejected": [[...], ...]}`; a row holds the values of `columns` in order (amounts in minor
units; `fee_amount` charged, `fee_waived_amount` waived, `fee_gross` before the waiver).
"""

from __future__ import annotations

import uuid
from typing import Any

from neobank.events import EventRow
from neobank.idempotency.service import Claim

__all__ = ["BATCH_EVENT_COLUMNS", "batch_applied_event"]

BATCH_EVENT_COLUMNS = (
    "id",
    "from_account_id",
    "to_account_id",
    "amount",
    "currency",
    "memo",
    "fee_amount",
    "fee_waived_amount",
    "fee_gross",
    "promotion_id",
)
_BATCH_NAMESPACE = uuid.UUID("6f1c2b8e-4d0a-5b7e-9c1f-2a3d4e5f6a7b")


def batch_id(claim: Claim) -> uuid.UUID:
    """A batch's id follows from its idempotency key: a retry names the same batch."""
    return uuid.uuid5(_BATCH_NAMESPACE, f"{claim.scope}\n{claim.key}")


def batch_applied_event(
    claim: Claim, created_at: str, posted: list[list[Any]], rejected: list[list[Any]]
) -> EventRow:
    return EventRow(
        "transfer.batch_applied",
        "transfer_batch",
        str(batch_id(claim)),
        {
            "kind": "internal",
            "created_at": created_at,
            "columns": list(BATCH_EVENT_COLUMNS),
            "posted": posted,
            "rejected_columns": [*BATCH_EVENT_COLUMNS, "code"],
            "rejected": rejected,
        },
    )
