"""Fixtures shared by the customer tests."""

from __future__ import annotations

import pytest

from tests.conftest import BankDriver
from tests.customers.helpers import Device, register_device


@pytest.fixture
async def device(bank: BankDriver) -> Device:
    """A customer's registered device, holding its private key."""
    customer = await bank.customer()
    return await register_device(bank.client, customer["id"])
