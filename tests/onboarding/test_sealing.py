"""Resident ids sealed at rest, keys shared through the database."""

from __future__ import annotations

import asyncpg
import pytest
from cryptography.exceptions import InvalidTag

from neobank.onboarding.sealing import load_sealer


async def test_sealed_values_open_and_differ_each_time(db: asyncpg.Connection) -> None:
    sealer = await load_sealer(db)
    one, two = sealer.seal("9001011234568"), sealer.seal("9001011234568")
    assert one != two and b"9001011234568" not in one
    assert sealer.open(one) == sealer.open(two) == "9001011234568"


async def test_a_tampered_value_does_not_open(db: asyncpg.Connection) -> None:
    sealer = await load_sealer(db)
    sealed = bytearray(sealer.seal("9001011234568"))
    sealed[-1] ^= 1
    with pytest.raises(InvalidTag):
        sealer.open(bytes(sealed))


async def test_every_process_loads_the_same_keys(db: asyncpg.Connection) -> None:
    first, second = await load_sealer(db), await load_sealer(db)
    assert second.open(first.seal("x")) == "x"
    assert first.digest("9001011234568") == second.digest("9001011234568")
    assert first.digest("9001011234568") != first.digest("9001011234568", context="other")
