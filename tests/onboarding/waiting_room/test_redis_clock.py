"""With Redis, queue times come from Redis's clock: processes whose clocks disagree still
stamp tickets in queue order."""

from __future__ import annotations

import time
import uuid

from neobank.onboarding.waiting_room import RedisStore, RoomPolicy
from tests.onboarding.waiting_room.conftest import REDIS_URL


async def test_issue_and_admission_times_come_from_redis_not_the_caller() -> None:
    prefix = f"test:wr:{uuid.uuid4().hex}:"
    early = RedisStore(REDIS_URL, RoomPolicy(limit_initial=1), key_prefix=prefix, server_clock=True)
    late = RedisStore(REDIS_URL, RoomPolicy(limit_initial=1), key_prefix=prefix, server_clock=True)
    try:
        before = time.time()
        # Two processes, one's clock an hour behind the other's: neither is believed.
        first = await late.take("ticket-one-0123456789", "signup", "j1", before + 3600)
        second = await early.take("ticket-two-0123456789", "signup", "j2", before - 3600)
        after = time.time()
        assert first.ticket.admitted_at is not None and second.ticket.admitted_at is None
        assert before - 1 <= first.ticket.issued_at <= second.ticket.issued_at <= after + 1
        await late.release("ticket-one-0123456789", after)
        admitted = await early.poll("ticket-two-0123456789", before - 3600)
        assert admitted is not None and admitted.ticket.admitted_at is not None
        assert first.ticket.admitted_at <= admitted.ticket.admitted_at <= time.time() + 1
    finally:
        await early.delete_all()
        await early.aclose()
        await late.aclose()
