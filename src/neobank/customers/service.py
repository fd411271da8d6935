"""Customer use cases: create a customer, register a device. Callers own the transaction."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

import asyncpg

from neobank.b64 import b64url_decode
from neobank.customers.errors import CustomerNotFound, DeviceKeyInUse, InvalidPublicKey
from neobank.events import EventRow, Outbox

__all__ = ["create_customer", "customer_out", "get_customer", "register_device"]

ED25519_PUBLIC_KEY_BYTES = 32


def customer_out(row: asyncpg.Record) -> dict[str, Any]:
    return {
        "id": str(row["id"]),
        "name": row["name"],
        "status": row["status"],
        "created_at": row["created_at"].isoformat(),
    }


async def create_customer(
    conn: asyncpg.Connection, outbox: Outbox, name: str, birth_date: date, phone: str
) -> dict[str, Any]:
    row = await conn.fetchrow(
        "INSERT INTO customers (id, name, birth_date, phone) VALUES ($1, $2, $3, $4) "
        "RETURNING id, name, status, created_at",
        uuid.uuid4(),
        name,
        birth_date,
        phone,
    )
    assert row is not None
    out = customer_out(row)
    outbox.add(
        EventRow("customer.created", "customer", out["id"], {**out, "birth_date": str(birth_date)}),
        row["created_at"],
    )
    return out


async def get_customer(
    conn: asyncpg.Connection | asyncpg.Pool, customer_id: uuid.UUID
) -> dict[str, Any]:
    row = await conn.fetchrow(
        "SELECT id, name, status, created_at FROM customers WHERE id = $1", customer_id
    )
    if row is None:
        raise CustomerNotFound()
    return customer_out(row)


def decode_public_key(public_key: str) -> bytes:
    raw = b64url_decode(public_key)
    if raw is None or len(raw) != ED25519_PUBLIC_KEY_BYTES:
        raise InvalidPublicKey()
    return raw


async def register_device(
    conn: asyncpg.Connection, outbox: Outbox, customer_id: uuid.UUID, public_key: str
) -> dict[str, Any]:
    raw = decode_public_key(public_key)
    device_id = uuid.uuid4()
    try:
        # The foreign key checks (and key-share locks) the customer: no statement of our own.
        row = await conn.fetchrow(
            "INSERT INTO devices (id, customer_id, public_key) VALUES ($1, $2, $3) "
            "ON CONFLICT (public_key) DO NOTHING RETURNING created_at",
            device_id,
            customer_id,
            raw,
        )
    except asyncpg.ForeignKeyViolationError:
        raise CustomerNotFound() from None
    if row is None:
        # The key's conflict spared the customer's check: an unknown customer still comes first.
        await get_customer(conn, customer_id)
        raise DeviceKeyInUse()
    outbox.add(
        EventRow(
            "device.registered",
            "customer",
            str(customer_id),
            {"device_id": str(device_id), "customer_id": str(customer_id)},
        ),
        row["created_at"],
    )
    return {"device_id": str(device_id)}
