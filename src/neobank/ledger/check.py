"""Recompute every balance from the transfers and the journal, and compare with the counters."""

from __future__ import annotations

from typing import Any

import asyncpg

from neobank.ledger.domain import TransferFlags

__all__ = ["check_ledger"]

MISMATCHES_SHOWN_MAX = 100

_RECOMPUTE = """
WITH moves AS (
    SELECT debit_account_id AS account_id,
           CASE WHEN flags & $1 = 0 AND flags & $3 = 0 THEN amount ELSE 0 END AS debits_posted,
           0::bigint AS credits_posted,
           CASE WHEN flags & $2 <> 0 AND NOT EXISTS (
                SELECT 1 FROM transfers r WHERE r.pending_id = t.id) THEN amount ELSE 0 END
               AS debits_pending,
           0::bigint AS credits_pending
    FROM transfers t
    UNION ALL
    SELECT credit_account_id,
           0,
           CASE WHEN flags & $1 = 0 AND flags & $3 = 0 THEN amount ELSE 0 END,
           0,
           CASE WHEN flags & $2 <> 0 AND NOT EXISTS (
                SELECT 1 FROM transfers r WHERE r.pending_id = t.id) THEN amount ELSE 0 END
    FROM transfers t
),
computed AS (
    SELECT account_id, sum(debits_posted) AS dp, sum(credits_posted) AS cp,
           sum(debits_pending) AS dpe, sum(credits_pending) AS cpe
    FROM moves GROUP BY account_id
),
journal AS (
    SELECT account_id,
           sum(CASE side WHEN 'D' THEN amount ELSE 0 END) AS jd,
           sum(CASE side WHEN 'C' THEN amount ELSE 0 END) AS jc
    FROM journal_entries GROUP BY account_id
),
latest AS (
    SELECT DISTINCT ON (account_id) account_id, balance_after
    FROM journal_entries ORDER BY account_id, seq DESC
)
SELECT a.id, a.currency, a.debits_posted, a.credits_posted, a.debits_pending, a.credits_pending,
       coalesce(c.dp, 0) AS dp, coalesce(c.cp, 0) AS cp,
       coalesce(c.dpe, 0) AS dpe, coalesce(c.cpe, 0) AS cpe,
       coalesce(j.jd, 0) AS jd, coalesce(j.jc, 0) AS jc,
       coalesce(l.balance_after, 0) AS balance_after
FROM ledger_accounts a
LEFT JOIN computed c ON c.account_id = a.id
LEFT JOIN journal j ON j.account_id = a.id
LEFT JOIN latest l ON l.account_id = a.id
"""


async def check_ledger(conn: asyncpg.Connection) -> dict[str, Any]:
    """Check, in one consistent snapshot, that the books balance and counters match history."""
    async with conn.transaction(isolation="repeatable_read", readonly=True):
        rows = await conn.fetch(
            _RECOMPUTE,
            int(TransferFlags.PENDING),
            int(TransferFlags.PENDING),
            int(TransferFlags.VOID_PENDING),
        )
    currencies: dict[str, dict[str, int]] = {}
    mismatches: list[dict[str, Any]] = []
    for row in rows:
        totals = currencies.setdefault(
            row["currency"],
            {"debits": 0, "credits": 0, "debits_pending": 0, "credits_pending": 0},
        )
        totals["debits"] += row["debits_posted"]
        totals["credits"] += row["credits_posted"]
        totals["debits_pending"] += row["debits_pending"]
        totals["credits_pending"] += row["credits_pending"]
        net_posted = row["credits_posted"] - row["debits_posted"]
        if net_posted != row["balance_after"]:
            # The running balance of the journal must end where the counters stand.
            mismatches.append(
                {
                    "account_id": str(row["id"]),
                    "counter": "balance_after",
                    "stored": net_posted,
                    "from_journal": int(row["balance_after"]),
                }
            )
        expected = {
            "debits_posted": (row["dp"], row["jd"]),
            "credits_posted": (row["cp"], row["jc"]),
            "debits_pending": (row["dpe"], row["dpe"]),
            "credits_pending": (row["cpe"], row["cpe"]),
        }
        for counter, (from_transfers, from_journal) in expected.items():
            stored = row[counter]
            if stored != from_transfers or stored != from_journal:
                mismatches.append(
                    {
                        "account_id": str(row["id"]),
                        "counter": counter,
                        "stored": stored,
                        "from_transfers": int(from_transfers),
                        "from_journal": int(from_journal),
                    }
                )
    for currency, totals in currencies.items():
        if totals["debits"] != totals["credits"]:
            mismatches.append({"currency": currency, "problem": "debits differ from credits"})
        if totals["debits_pending"] != totals["credits_pending"]:
            mismatches.append(
                {"currency": currency, "problem": "pending debits differ from pending credits"}
            )
    return {
        "balanced": not mismatches,
        "accounts_checked": len(rows),
        "currencies": currencies,
        "mismatches": mismatches[:MISMATCHES_SHOWN_MAX],
    }
